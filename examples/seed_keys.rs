//! Seeds a database for the verification benchmark: the demo company, one grant, N API keys
//! under it (stored as the server stores them: HMAC under the pepper), and a gateway credential.
//! Prints the credential on the first line, then `SAMPLE` keys, one per line, for the load
//! generator. Usage: seed_keys DATABASE_URL PEPPER N SAMPLE

use gatehouse::server::config::DatabaseUrl;
use gatehouse::server::db::Store;
use gatehouse::server::keys;
use gatehouse::server::services::gateways;
use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, pepper, n, sample] = args.as_slice() else {
        return Err("usage: seed_keys DATABASE_URL PEPPER N SAMPLE".into());
    };
    let n: usize = n.parse()?;
    let sample: usize = sample.parse()?;
    let url = if let Some(path) = url.strip_prefix("sqlite://") {
        DatabaseUrl::Sqlite(path.into())
    } else {
        DatabaseUrl::Postgres(url.clone())
    };
    let store = Store::connect(&url, 2).await?;
    store.migrate().await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    gatehouse::server::seed::seed_demo(&store, now).await?;
    let started = Instant::now();
    let pool = store.pool();
    let (person, api, env): (i64, i64, i64) = sqlx::query_as(
        "SELECT p.id, a.id, e.id FROM people p, apis a JOIN environments e ON e.api_id = a.id
         WHERE p.email = 'sam.taylor@example.com' AND a.slug = 'pet-store' AND e.name = 'production'",
    )
    .fetch_one(pool)
    .await?;
    let scope: i64 =
        sqlx::query_scalar("SELECT id FROM scopes WHERE api_id = $1 AND name = 'read:pets'")
            .bind(api)
            .fetch_one(pool)
            .await?;
    let grant: i64 = sqlx::query_scalar(
        "INSERT INTO grants (person_id, api_id, environment_id, granted_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(person)
    .bind(api)
    .bind(env)
    .bind(now)
    .bind(now + 365 * 86_400)
    .fetch_one(pool)
    .await?;
    sqlx::query("INSERT INTO grant_scopes (grant_id, scope_id) VALUES ($1, $2)")
        .bind(grant)
        .bind(scope)
        .execute(pool)
        .await?;
    let mut samples = Vec::new();
    let batch = 400;
    let mut tx = pool.begin().await?;
    let mut first_id: Option<i64> = None;
    for start in (0..n).step_by(batch) {
        let rows = batch.min(n - start);
        let mut sql = String::from(
            "INSERT INTO api_keys (grant_id, person_id, name, lookup_id, secret_hash, created_at, expires_at, environment_marker) VALUES ",
        );
        let mut keys_in_batch = Vec::with_capacity(rows);
        for i in 0..rows {
            let (key, lookup) = keys::generate("production");
            if samples.len() < sample && (start + i) % (n / sample.max(1)).max(1) == 0 {
                samples.push(key.clone());
            }
            let hash = keys::keyed_hash(pepper.as_bytes(), &key);
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "({grant}, {person}, 'bench', '{lookup}', '{hash}', {now}, {}, 'production')",
                now + 300 * 86_400
            ));
            keys_in_batch.push(lookup);
        }
        sqlx::query(&sql).execute(&mut *tx).await?;
        if first_id.is_none() {
            first_id = sqlx::query_scalar("SELECT MIN(id) FROM api_keys")
                .fetch_one(&mut *tx)
                .await?;
        }
    }
    sqlx::query("INSERT INTO api_key_scopes (key_id, scope_id) SELECT id, $1 FROM api_keys")
        .bind(scope)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let gateway = gateways::create_by_operator(&store, "bench", now)
        .await?
        .secret;
    eprintln!(
        "seeded {n} keys in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("{gateway}");
    for k in samples {
        println!("{k}");
    }
    store.close().await;
    Ok(())
}
