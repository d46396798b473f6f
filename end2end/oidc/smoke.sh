#!/usr/bin/env bash
# Smoke test for oidc/provider.mjs with curl alone: starts the provider on a free loopback port
# with a temporary accounts file, runs the authorization-code + PKCE flow through the development
# login form, checks the ID token, single use of the code, PKCE enforcement, the guest sign-in and
# the Cancel (access_denied) path, then stops it. Exits non-zero on the first failure.
# Run from anywhere: bash end2end/oidc/smoke.sh   (needs end2end/node_modules: npm ci in end2end)
set -euo pipefail
cd "$(dirname "$0")/.."

tmp="$(mktemp -d)"
pid=""
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [[ -f "$tmp/provider.log" ]]; then
    echo "--- provider log ---" >&2
    cat "$tmp/provider.log" >&2
  fi
  exit 1
}
ok() { echo "ok: $*"; }

# Evaluate a small JS snippet; the remaining args are available as A[0], A[1], ...
js() {
  local code="$1"
  shift
  node -e "const A = process.argv.slice(1); $code" -- "$@"
}

port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
issuer="http://127.0.0.1:$port"
client_id="gatehouse-e2e"
client_secret="e2e-secret-$RANDOM$RANDOM"
redirect_uri="http://127.0.0.1:1/auth/oidc/callback" # nothing listens: only the Location is read

cat >"$tmp/accounts.json" <<'EOF'
[
  { "sub": "emp-0001", "email": "Alice.Able@example.com", "name": "Alice Able",
    "department": "Platform", "manager_email": "boss@example.com" },
  { "sub": "emp-0002", "email": "bob@example.com", "name": "Bob Baker" }
]
EOF

OIDC_PORT="$port" OIDC_CLIENT_ID="$client_id" OIDC_CLIENT_SECRET="$client_secret" \
  OIDC_REDIRECT_URI="$redirect_uri" OIDC_ACCOUNTS="$tmp/accounts.json" \
  node oidc/provider.mjs >"$tmp/provider.log" 2>&1 &
pid=$!

for _ in $(seq 1 100); do
  grep -q "oidc-provider listening on $issuer" "$tmp/provider.log" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || fail "provider exited early"
  sleep 0.1
done
grep -q "oidc-provider listening on $issuer" "$tmp/provider.log" || fail "provider did not start"
ok "provider started: $(grep 'listening' "$tmp/provider.log")"

# ---- discovery ---------------------------------------------------------------------------------
curl -fsS "$issuer/.well-known/openid-configuration" >"$tmp/discovery.json" || fail "discovery"
js '
  const d = JSON.parse(require("fs").readFileSync(A[0], "utf8"));
  const want = (c, m) => { if (!c) { console.error("discovery: " + m); process.exit(1); } };
  want(d.issuer === A[1], "issuer is " + d.issuer);
  want(d.jwks_uri === A[1] + "/jwks", "jwks_uri is " + d.jwks_uri);
  want(JSON.stringify(d.code_challenge_methods_supported) === "[\"S256\"]", "PKCE methods");
  want(d.id_token_signing_alg_values_supported.includes("RS256"), "RS256");
  want(d.token_endpoint_auth_methods_supported.includes("client_secret_basic"), "basic auth");
  for (const s of ["openid", "email", "profile"]) want(d.scopes_supported.includes(s), "scope " + s);
  console.log("discovery: issuer=" + d.issuer + " authorization_endpoint=" + d.authorization_endpoint
    + " token_endpoint=" + d.token_endpoint + " jwks_uri=" + d.jwks_uri);
' "$tmp/discovery.json" "$issuer" || fail "discovery document"
ok "discovery"
auth_ep="$(js 'console.log(JSON.parse(require("fs").readFileSync(A[0],"utf8")).authorization_endpoint)' "$tmp/discovery.json")"
token_ep="$(js 'console.log(JSON.parse(require("fs").readFileSync(A[0],"utf8")).token_endpoint)' "$tmp/discovery.json")"
userinfo_ep="$(js 'console.log(JSON.parse(require("fs").readFileSync(A[0],"utf8")).userinfo_endpoint)' "$tmp/discovery.json")"
curl -fsS "$issuer/jwks" >"$tmp/jwks.json" || fail "jwks"
js 'const k = JSON.parse(require("fs").readFileSync(A[0],"utf8")).keys;
    if (!k.length || k.some(x => x.d)) process.exit(1);
    console.log("jwks: " + k.map(x => x.kty + "/" + x.alg + "/" + x.kid).join(", "))' "$tmp/jwks.json" \
  || fail "jwks has no public keys (or leaks private parts)"

# ---- helpers -----------------------------------------------------------------------------------
# One request, no redirect following; prints "STATUS LOCATION" (Location made absolute).
hop() {
  local jar="$1" url="$2"
  shift 2
  local out status loc
  out="$(curl -sS -o "$tmp/body" -b "$jar" -c "$jar" -w '%{http_code} %header{location}' "$@" "$url")" \
    || fail "request to $url"
  status="${out%% *}"
  loc="${out#* }"
  if [[ "$loc" == /* ]]; then loc="$issuer$loc"; fi
  echo "$status $loc"
}

# Follow redirects while they stay on the provider; prints the first Location that leaves it.
follow() {
  local jar="$1" url="$2" res status
  for _ in $(seq 1 10); do
    res="$(hop "$jar" "$url")"
    status="${res%% *}"
    url="${res#* }"
    [[ "$status" == 30? ]] || { echo "STOP $status $url"; return; }
    if [[ "$url" != "$issuer"/* ]]; then echo "$url"; return; fi
  done
  fail "too many redirects"
}

pkce_pair() { # prints "verifier challenge"
  js 'const c = require("crypto"); const v = c.randomBytes(32).toString("base64url");
      console.log(v + " " + c.createHash("sha256").update(v).digest("base64url"))'
}

auth_url() { # challenge state nonce [extra query]
  js 'const u = new URL(A[0]);
      u.search = new URLSearchParams({ response_type: "code", client_id: A[1], redirect_uri: A[2],
        scope: "openid email profile", state: A[4], nonce: A[5], code_challenge: A[3],
        code_challenge_method: "S256" }).toString() + (A[6] ? "&" + A[6] : "");
      console.log(u.href)' "$auth_ep" "$client_id" "$redirect_uri" "$@"
}

query_param() { # url name
  js 'console.log(new URL(A[0]).searchParams.get(A[1]) ?? "")' "$1" "$2"
}

# Starts an authorization request in jar $1 and returns the interaction (login form) URL.
to_login_form() {
  local jar="$1" url="$2" res status loc
  res="$(hop "$jar" "$url")"
  status="${res%% *}"
  loc="${res#* }"
  [[ "$status" == 303 && "$loc" == "$issuer/interaction/"* ]] \
    || fail "authorization request did not redirect to the login form ($res)"
  echo "$loc"
}

# Logs in on the form at $2 with login $3; prints the redirect URI Location the flow ends at.
log_in() {
  local jar="$1" form_url="$2" login="$3" res status loc
  res="$(hop "$jar" "$form_url")"
  [[ "${res%% *}" == 200 ]] || fail "login form: $res"
  grep -q '<input type="hidden" name="prompt" value="login"/>' "$tmp/body" || fail "form: prompt"
  grep -q 'name="login"' "$tmp/body" || fail "form: login field"
  grep -q 'name="password"' "$tmp/body" || fail "form: password field"
  grep -q '<button type="submit" class="login login-submit">Sign-in</button>' "$tmp/body" || fail "form: button"
  grep -q 'fonts.googleapis.com' "$tmp/body" && fail "form still imports a web font"
  local action
  action="$(grep -o 'action="[^"]*"' "$tmp/body" | head -1 | sed 's/^action="//; s/"$//')"
  [[ "$action" == /* ]] && action="$issuer$action"
  res="$(hop "$jar" "$action" --data-urlencode "prompt=login" --data-urlencode "login=$login" \
    --data-urlencode "password=anything")"
  status="${res%% *}"
  loc="${res#* }"
  [[ "$status" == 303 ]] || fail "login POST answered $res"
  follow "$jar" "$loc"
}

token() { # code verifier|"" [extra curl args...]; writes $tmp/token.json, prints the HTTP status
  local code="$1" verifier="$2"
  shift 2
  local args=(--data-urlencode "grant_type=authorization_code" --data-urlencode "code=$code"
    --data-urlencode "redirect_uri=$redirect_uri")
  [[ -n "$verifier" ]] && args+=(--data-urlencode "code_verifier=$verifier")
  curl -sS -o "$tmp/token.json" -w '%{http_code}' "${args[@]}" "$@" "$token_ep"
}

check_id_token() { # expected: sub email name nonce [department manager_email]
  js '
    const fs = require("fs"), crypto = require("crypto");
    const t = JSON.parse(fs.readFileSync(A[0], "utf8"));
    const [h, p, s] = t.id_token.split(".");
    const header = JSON.parse(Buffer.from(h, "base64url"));
    const claims = JSON.parse(Buffer.from(p, "base64url"));
    const jwk = JSON.parse(fs.readFileSync(A[1], "utf8")).keys.find(k => k.kid === header.kid);
    const bad = (m) => { console.error("id_token: " + m + "\n" + JSON.stringify(claims, null, 2)); process.exit(1); };
    if (header.alg !== "RS256") bad("alg " + header.alg);
    if (!jwk) bad("kid " + header.kid + " not in /jwks");
    const key = crypto.createPublicKey({ key: jwk, format: "jwk" });
    if (!crypto.verify("sha256", Buffer.from(h + "." + p), key, Buffer.from(s, "base64url"))) bad("signature");
    const [issuer, aud, sub, email, name, nonce, dept, mgr] = A.slice(2);
    if (claims.iss !== issuer) bad("iss");
    if (claims.aud !== aud) bad("aud");
    if (claims.sub !== sub) bad("sub");
    if (claims.email !== email) bad("email");
    if (claims.email_verified !== true) bad("email_verified");
    if (claims.name !== name) bad("name");
    if (claims.nonce !== nonce) bad("nonce");
    if (dept && claims.department !== dept) bad("department");
    if (mgr && claims.manager_email !== mgr) bad("manager_email");
    if (!(claims.exp > Date.now() / 1000)) bad("exp");
    if (t.token_type !== "Bearer" || !t.access_token) bad("token response " + JSON.stringify(t));
    console.log("id_token header: " + JSON.stringify(header));
    console.log("id_token payload: " + JSON.stringify(claims));
  ' "$tmp/token.json" "$tmp/jwks.json" "$issuer" "$client_id" "$@"
}

expect_error() { # status expected_status expected_error what
  local status="$1" want_status="$2" want_error="$3" what="$4" err
  err="$(js 'try { console.log(JSON.parse(require("fs").readFileSync(A[0],"utf8")).error ?? "") } catch { console.log("") }' "$tmp/token.json")"
  [[ "$status" == "$want_status" && "$err" == "$want_error" ]] \
    || fail "$what: expected $want_status $want_error, got $status $(cat "$tmp/token.json")"
  ok "$what -> HTTP $status $(cat "$tmp/token.json")"
}

# ---- 1. known account: full flow ---------------------------------------------------------------
jar="$tmp/jar1"
read -r verifier challenge < <(pkce_pair)
state="st-$RANDOM$RANDOM"
nonce="n-$RANDOM$RANDOM"
url="$(auth_url "$challenge" "$state" "$nonce")"
echo "authorization request: $url"
form="$(to_login_form "$jar" "$url")"
echo "login form: $form"
back="$(log_in "$jar" "$form" "ALICE.able@Example.com")"
echo "redirected back to: $back"
[[ "$back" == "$redirect_uri?"* ]] || fail "did not come back to the redirect URI: $back"
[[ "$(query_param "$back" state)" == "$state" ]] || fail "state mismatch"
[[ "$(query_param "$back" iss)" == "$issuer" ]] || fail "iss parameter"
code="$(query_param "$back" code)"
[[ -n "$code" ]] || fail "no code in $back"
ok "got code with state and iss"

status="$(token "$code" "$verifier" -u "$client_id:$client_secret")"
[[ "$status" == 200 ]] || fail "token exchange: $status $(cat "$tmp/token.json")"
check_id_token emp-0001 Alice.Able@example.com "Alice Able" "$nonce" Platform boss@example.com \
  || fail "ID token claims"
ok "token exchange (client_secret_basic + code_verifier), ID token verified against /jwks"
access_token="$(js 'console.log(JSON.parse(require("fs").readFileSync(A[0],"utf8")).access_token)' "$tmp/token.json")"
echo "userinfo: $(curl -fsS -H "Authorization: Bearer $access_token" "$userinfo_ep")" || fail "userinfo"

status="$(token "$code" "$verifier" -u "$client_id:$client_secret")"
expect_error "$status" 400 invalid_grant "second exchange of the same code"
ui_status="$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $access_token" "$userinfo_ep")"
[[ "$ui_status" == 401 ]] || fail "the replay should revoke the tokens issued from that code (userinfo $ui_status)"
ok "the replay revoked the first exchange's access token (userinfo -> HTTP 401)"

# ---- 2. same browser session: no login form, a new code; exchange without code_verifier ---------
read -r verifier challenge < <(pkce_pair)
back="$(follow "$jar" "$(auth_url "$challenge" s2 n2)")"
[[ "$back" == "$redirect_uri?code="* ]] || fail "existing session did not go straight back: $back"
ok "existing provider session: straight back with a code (no form)"
code="$(query_param "$back" code)"
status="$(token "$code" "" -u "$client_id:$client_secret")"
expect_error "$status" 400 invalid_grant "exchange without code_verifier"
status="$(token "$code" "$verifier" -u "$client_id:$client_secret")"
[[ "$status" == 200 ]] || fail "a failed PKCE check should leave the code usable: $status $(cat "$tmp/token.json")"
ok "the same code then with the right verifier -> HTTP 200 (a failed PKCE check does not burn the code)"

read -r verifier challenge < <(pkce_pair)
back="$(follow "$jar" "$(auth_url "$challenge" s3 n3)")"
code="$(query_param "$back" code)"
status="$(token "$code" "$(pkce_pair | cut -d' ' -f1)" -u "$client_id:$client_secret")"
expect_error "$status" 400 invalid_grant "exchange with a wrong code_verifier"

read -r verifier challenge < <(pkce_pair)
back="$(follow "$jar" "$(auth_url "$challenge" s4 n4)")"
code="$(query_param "$back" code)"
status="$(token "$code" "$verifier" -u "$client_id:wrong-secret")"
expect_error "$status" 401 invalid_client "exchange with a wrong client secret"

read -r verifier challenge < <(pkce_pair)
res="$(hop "$jar" "$(auth_url "$challenge" s4b n4b "prompt=login")")"
[[ "$res" == "303 $issuer/interaction/"* ]] || fail "prompt=login did not show the login form: $res"
ok "prompt=login with an existing provider session -> the login form again"

# ---- 3. PKCE is required, S256 only -----------------------------------------------------------
no_pkce="$(js 'const u = new URL(A[0]); u.searchParams.delete("code_challenge"); u.searchParams.delete("code_challenge_method"); console.log(u.href)' "$(auth_url x s5 n5)")"
back="$(follow "$tmp/jar-none" "$no_pkce")"
[[ "$(query_param "$back" error)" == invalid_request ]] || fail "no PKCE was accepted: $back"
ok "authorization without code_challenge -> $(query_param "$back" error): $(query_param "$back" error_description)"
plain="$(js 'const u = new URL(A[0]); u.searchParams.set("code_challenge_method", "plain"); console.log(u.href)' "$(auth_url "$(pkce_pair | cut -d' ' -f1)" s6 n6)")"
back="$(follow "$tmp/jar-none" "$plain")"
[[ -n "$(query_param "$back" error)" ]] || fail "plain PKCE was accepted: $back"
ok "code_challenge_method=plain -> $(query_param "$back" error): $(query_param "$back" error_description)"

# ---- 4. unknown login signs in as a guest -----------------------------------------------------
jar="$tmp/jar2"
read -r verifier challenge < <(pkce_pair)
form="$(to_login_form "$jar" "$(auth_url "$challenge" s7 n7)")"
back="$(log_in "$jar" "$form" "Carla@Contractor.example")"
code="$(query_param "$back" code)"
[[ -n "$code" ]] || fail "guest: no code in $back"
status="$(token "$code" "$verifier" -u "$client_id:$client_secret")"
[[ "$status" == 200 ]] || fail "guest token exchange: $status $(cat "$tmp/token.json")"
check_id_token "guest:carla@contractor.example" "Carla@Contractor.example" "Carla@Contractor.example" n7 \
  || fail "guest ID token"
ok "guest sign-in"

# ---- 5. client_secret_post works too (the client is registered for client_secret_basic) ---------
read -r verifier challenge < <(pkce_pair)
back="$(follow "$jar" "$(auth_url "$challenge" s8 n8)")"
code="$(query_param "$back" code)"
status="$(token "$code" "$verifier" --data-urlencode "client_id=$client_id" --data-urlencode "client_secret=$client_secret")"
[[ "$status" == 200 ]] || fail "client_secret_post: $status $(cat "$tmp/token.json")"
ok "client_secret_post is accepted as well -> HTTP 200"

# ---- 6. Cancel on the login form -> error=access_denied at the redirect URI --------------------
jar="$tmp/jar3"
read -r verifier challenge < <(pkce_pair)
form="$(to_login_form "$jar" "$(auth_url "$challenge" s9 n9)")"
res="$(hop "$jar" "$form")"
abort="$(grep -o 'href="[^"]*/abort"' "$tmp/body" | sed 's/^href="//; s/"$//')"
[[ -n "$abort" ]] || fail "no Cancel link on the form"
grep -q '>\[ Cancel \]</a>' "$tmp/body" || fail "Cancel link text"
[[ "$abort" == /* ]] && abort="$issuer$abort"
echo "cancel link: $abort"
back="$(follow "$jar" "$abort")"
echo "redirected back to: $back"
[[ "$(query_param "$back" error)" == access_denied && "$(query_param "$back" state)" == s9 ]] \
  || fail "cancel did not give access_denied: $back"
ok "cancel -> error=access_denied ($(query_param "$back" error_description)), state kept"

# ---- 7. SIGTERM stops it cleanly ---------------------------------------------------------------
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[[ "$rc" == 0 ]] || fail "provider exited $rc on SIGTERM"
ok "SIGTERM -> exit 0"
echo "--- provider log ---"
cat "$tmp/provider.log"
echo "OIDC smoke: all checks passed"
