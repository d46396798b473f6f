//! The org file: people, their managers and teams, as CSV or JSON. Parsed and checked whole, so
//! an import either applies completely or reports every problem by line and changes nothing.

use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// One person as the file describes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgRow {
    /// Where the row stands: a CSV line, or a JSON array entry.
    pub at: Location,
    pub email: String,
    pub name: String,
    pub manager_email: Option<String>,
    /// Team slug and whether the person owns it.
    pub teams: Vec<(String, bool)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Location {
    Line(usize),
    Entry(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Entry(n) => write!(f, "entry {n}"),
        }
    }
}

/// One problem, where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgError {
    pub at: Option<Location>,
    pub message: String,
}

impl fmt::Display for OrgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some(at) => write!(f, "{at}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn err(at: Option<Location>, message: impl Into<String>) -> OrgError {
    OrgError {
        at,
        message: message.into(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgFormat {
    Csv,
    Json,
}

pub const MAX_ROWS: usize = 50_000;

/// Lowercased and checked: one `@`, something on each side, no spaces.
pub fn parse_email(raw: &str) -> Option<String> {
    let e = raw.trim().to_lowercase();
    let (local, domain) = e.split_once('@')?;
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.contains(char::is_whitespace)
        && !domain.contains('@')
        && e.len() <= 254;
    ok.then_some(e)
}

/// `platform` or `platform:owner`; several separated by `;` (CSV) or listed (JSON).
fn team(raw: &str) -> Result<(String, bool), String> {
    let (slug, role) = match raw.trim().split_once(':') {
        Some((slug, role)) => (slug.trim(), Some(role.trim())),
        None => (raw.trim(), None),
    };
    let owner = match role {
        None | Some("member") => false,
        Some("owner") => true,
        Some(other) => return Err(format!("team role '{other}' is neither owner nor member")),
    };
    if slug.is_empty()
        || !slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!("'{slug}' is not a team name"));
    }
    Ok((slug.to_owned(), owner))
}

/// Splits one CSV line (RFC 4180 quoting; no line breaks inside fields).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => quoted = true,
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => {
                quoted = false;
                if !matches!(chars.peek(), None | Some(',')) {
                    return Err("text after a closing quote".into());
                }
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
                continue;
            }
            (_, c) => field.push(c),
        }
        at_start = false;
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    fields.push(field);
    Ok(fields)
}

fn parse_csv(text: &str) -> Result<Vec<OrgRow>, Vec<OrgError>> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(vec![err(None, "the file is empty")]);
    };
    let header = csv_fields(header.trim_start_matches('\u{feff}'))
        .map_err(|e| vec![err(Some(Location::Line(1)), e)])?;
    let columns: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    let col = |name: &str| columns.iter().position(|c| c == name);
    let (Some(c_email), Some(c_name)) = (col("email"), col("name")) else {
        return Err(vec![err(
            Some(Location::Line(1)),
            "the header needs the columns email and name (and optionally manager_email, teams)",
        )]);
    };
    let (c_manager, c_teams) = (col("manager_email"), col("teams"));
    if let Some(unknown) = columns
        .iter()
        .find(|c| !["email", "name", "manager_email", "teams"].contains(&c.as_str()))
    {
        return Err(vec![err(
            Some(Location::Line(1)),
            format!("unknown column '{unknown}'"),
        )]);
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in lines {
        let at = Location::Line(index + 1);
        let fields = match csv_fields(line) {
            Ok(f) if f.len() == columns.len() => f,
            Ok(f) => {
                errors.push(err(
                    Some(at),
                    format!("{} fields where the header has {}", f.len(), columns.len()),
                ));
                continue;
            }
            Err(e) => {
                errors.push(err(Some(at), e));
                continue;
            }
        };
        let get = |i: Option<usize>| {
            i.map(|i| fields[i].trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let teams = get(c_teams)
            .map(|t| {
                t.split(';')
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        match row(
            at,
            get(Some(c_email)),
            get(Some(c_name)),
            get(c_manager),
            teams,
        ) {
            Ok(r) => rows.push(r),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRow {
    email: Option<String>,
    name: Option<String>,
    manager_email: Option<String>,
    #[serde(default)]
    teams: Vec<String>,
}

fn parse_json(text: &str) -> Result<Vec<OrgRow>, Vec<OrgError>> {
    let entries: Vec<JsonRow> = serde_json::from_str(text).map_err(|e| {
        vec![err(
            Some(Location::Line(e.line())),
            format!("not a JSON array of people: {e}"),
        )]
    })?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        let blank = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        match row(
            Location::Entry(i + 1),
            blank(e.email),
            blank(e.name),
            blank(e.manager_email),
            e.teams,
        ) {
            Ok(r) => rows.push(r),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

fn row(
    at: Location,
    raw_email: Option<String>,
    name: Option<String>,
    manager: Option<String>,
    teams: Vec<String>,
) -> Result<OrgRow, Vec<OrgError>> {
    let mut errors = Vec::new();
    let email = match raw_email.as_deref().map(|e| (e, parse_email(e))) {
        Some((_, Some(e))) => Some(e),
        Some((raw, None)) => {
            errors.push(err(Some(at), format!("'{raw}' is not an email address")));
            None
        }
        None => {
            errors.push(err(Some(at), "the email is missing"));
            None
        }
    };
    let name = name.filter(|n| n.chars().count() <= 200);
    if name.is_none() {
        errors.push(err(
            Some(at),
            "the name is missing or longer than 200 characters",
        ));
    }
    let manager_email = match manager.as_deref().map(|m| (m, parse_email(m))) {
        Some((_, Some(m))) => Some(m),
        Some((raw, None)) => {
            errors.push(err(
                Some(at),
                format!("manager '{raw}' is not an email address"),
            ));
            None
        }
        None => None,
    };
    let mut parsed_teams = Vec::new();
    for t in &teams {
        match team(t) {
            Ok(t) => parsed_teams.push(t),
            Err(e) => errors.push(err(Some(at), e)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let (email, name) = (email.unwrap_or_default(), name.unwrap_or_default());
    if manager_email.as_deref() == Some(email.as_str()) {
        return Err(vec![err(Some(at), "a person cannot be their own manager")]);
    }
    Ok(OrgRow {
        at,
        email,
        name,
        manager_email,
        teams: parsed_teams,
    })
}

/// What the rest of the organisation looks like: the people already known (email → their
/// manager's email) and the team slugs that exist.
pub struct Existing<'a> {
    pub managers: &'a HashMap<String, Option<String>>,
    pub teams: &'a HashSet<String>,
}

/// Parses the file and checks it against itself and the existing organisation: duplicate emails,
/// unknown managers and teams, and cycles in the reporting line as it would be after the import.
pub fn parse_and_check(
    format: OrgFormat,
    text: &str,
    existing: &Existing<'_>,
) -> Result<Vec<OrgRow>, Vec<OrgError>> {
    let rows = match format {
        OrgFormat::Csv => parse_csv(text)?,
        OrgFormat::Json => parse_json(text)?,
    };
    if rows.is_empty() {
        return Err(vec![err(None, "the file lists nobody")]);
    }
    if rows.len() > MAX_ROWS {
        return Err(vec![err(
            None,
            format!(
                "the file lists {} people; the limit is {MAX_ROWS}",
                rows.len()
            ),
        )]);
    }
    let mut errors = Vec::new();
    let mut first_seen: HashMap<&str, Location> = HashMap::new();
    for r in &rows {
        if let Some(first) = first_seen.insert(&r.email, r.at) {
            errors.push(err(
                Some(r.at),
                format!("{} is listed twice (first at {first})", r.email),
            ));
            first_seen.insert(&r.email, first);
        }
    }
    for r in &rows {
        if let Some(m) = &r.manager_email
            && !first_seen.contains_key(m.as_str())
            && !existing.managers.contains_key(m)
        {
            errors.push(err(
                Some(r.at),
                format!("manager {m} is neither in the file nor in Gatehouse"),
            ));
        }
        for (slug, _) in &r.teams {
            if !existing.teams.contains(slug) {
                errors.push(err(Some(r.at), format!("there is no team '{slug}'")));
            }
        }
    }
    if errors.is_empty() {
        errors.extend(cycles(&rows, existing));
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        errors.sort_by_key(|e| e.at);
        Err(errors)
    }
}

/// Walks each person's reporting line as it would stand after the import; a walk that comes back
/// to someone it passed is a cycle, reported once, at the first listed person on it.
fn cycles(rows: &[OrgRow], existing: &Existing<'_>) -> Vec<OrgError> {
    let mut manager_of: HashMap<&str, Option<&str>> = existing
        .managers
        .iter()
        .map(|(p, m)| (p.as_str(), m.as_deref()))
        .collect();
    for r in rows {
        manager_of.insert(&r.email, r.manager_email.as_deref());
    }
    let at: HashMap<&str, Location> = rows.iter().map(|r| (r.email.as_str(), r.at)).collect();
    let mut reported: HashSet<&str> = HashSet::new();
    let mut errors = Vec::new();
    for r in rows {
        let mut path: Vec<&str> = vec![&r.email];
        let mut current: &str = &r.email;
        while let Some(Some(next)) = manager_of.get(current) {
            if let Some(start) = path.iter().position(|p| p == next) {
                let cycle = &path[start..];
                if cycle.iter().all(|p| !reported.contains(p)) {
                    reported.extend(cycle.iter().copied());
                    let first = cycle.iter().filter_map(|p| at.get(p)).min().copied();
                    let mut names: Vec<&str> = cycle.to_vec();
                    names.push(next);
                    errors.push(err(
                        first,
                        format!("the reporting line loops: {}", names.join(" → ")),
                    ));
                }
                break;
            }
            path.push(next);
            current = next;
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(format: OrgFormat, text: &str) -> Result<Vec<OrgRow>, Vec<String>> {
        let managers: HashMap<String, Option<String>> =
            [("ceo@example.com".to_owned(), None)].into();
        let teams: HashSet<String> = ["platform".to_owned(), "data".to_owned()].into();
        parse_and_check(
            format,
            text,
            &Existing {
                managers: &managers,
                teams: &teams,
            },
        )
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn a_good_csv_file_parses_with_quotes_teams_and_roles() {
        let rows = check(
            OrgFormat::Csv,
            "email,name,manager_email,teams\nAda@Example.com,\"Lovelace, Ada\",ceo@example.com,platform:owner;data\nbob@example.com,Bob,ada@example.com,\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].email, "ada@example.com");
        assert_eq!(rows[0].name, "Lovelace, Ada");
        assert_eq!(
            rows[0].teams,
            [("platform".to_owned(), true), ("data".to_owned(), false)]
        );
        assert_eq!(rows[1].manager_email.as_deref(), Some("ada@example.com"));
        assert_eq!(rows[1].at, Location::Line(3));
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let errors = check(
            OrgFormat::Csv,
            "email,name,manager_email,teams\nada@example.com,Ada,nobody@example.com,\nnot-an-email,X,,\nada@example.com,Ada again,,\ncid@example.com,Cid,,sales\ndee@example.com,,,\n",
        )
        .unwrap_err();
        assert_eq!(
            errors,
            [
                "line 3: 'not-an-email' is not an email address",
                "line 6: the name is missing or longer than 200 characters",
            ],
            "field errors come first; cross-row checks need well-formed rows"
        );
        let errors = check(
            OrgFormat::Csv,
            "email,name,manager_email,teams\nada@example.com,Ada,nobody@example.com,\nada@example.com,Ada again,,\ncid@example.com,Cid,,sales\n",
        )
        .unwrap_err();
        assert_eq!(
            errors,
            [
                "line 2: manager nobody@example.com is neither in the file nor in Gatehouse",
                "line 3: ada@example.com is listed twice (first at line 2)",
                "line 4: there is no team 'sales'",
            ]
        );
    }

    #[test]
    fn cycles_in_the_reporting_line_are_found() {
        let errors = check(
            OrgFormat::Csv,
            "email,name,manager_email\na@example.com,A,b@example.com\nb@example.com,B,c@example.com\nc@example.com,C,a@example.com\nd@example.com,D,a@example.com\n",
        )
        .unwrap_err();
        assert_eq!(
            errors,
            [
                "line 2: the reporting line loops: a@example.com → b@example.com → c@example.com → a@example.com"
            ]
        );
        let self_managed = check(
            OrgFormat::Csv,
            "email,name,manager_email\na@example.com,A,A@example.com\n",
        )
        .unwrap_err();
        assert_eq!(
            self_managed,
            ["line 2: a person cannot be their own manager"]
        );
    }

    #[test]
    fn json_entries_are_checked_the_same_way() {
        let rows = check(
            OrgFormat::Json,
            r#"[{"email":"a@example.com","name":"A","teams":["data"]}]"#,
        )
        .unwrap();
        assert_eq!(rows[0].teams, [("data".to_owned(), false)]);
        let errors = check(
            OrgFormat::Json,
            r#"[{"email":"a@example.com","name":"A"},{"email":"a@example.com","name":"B"}]"#,
        )
        .unwrap_err();
        assert_eq!(
            errors,
            ["entry 2: a@example.com is listed twice (first at entry 1)"]
        );
        let errors = check(
            OrgFormat::Json,
            "[{\"email\": \"a@example.com\",\n \"nmae\": \"A\"}]",
        )
        .unwrap_err();
        assert!(
            errors[0].starts_with("line 2: not a JSON array of people: unknown field `nmae`"),
            "{errors:?}"
        );
    }

    #[test]
    fn malformed_files_say_what_is_wrong() {
        assert_eq!(
            check(OrgFormat::Csv, "").unwrap_err(),
            ["the file is empty"]
        );
        assert_eq!(
            check(OrgFormat::Csv, "email,name\n").unwrap_err(),
            ["the file lists nobody"]
        );
        assert!(
            check(OrgFormat::Csv, "mail,name\nx@example.com,X\n").unwrap_err()[0]
                .contains("needs the columns email and name")
        );
        assert_eq!(
            check(OrgFormat::Csv, "email,name\n\"a@example.com,A\n").unwrap_err(),
            ["line 2: a quoted field is not closed"]
        );
        assert_eq!(
            check(OrgFormat::Csv, "email,name\na@example.com,A,extra\n").unwrap_err(),
            ["line 2: 3 fields where the header has 2"]
        );
    }
}
