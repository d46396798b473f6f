//! YAML from people's files: OpenAPI specs, guides' front matter, docs folders' manifests. The
//! parser refuses deep nesting and alias bombs itself; a panic inside it still becomes an error
//! that names the file's problem, never a failed request.

use serde::de::DeserializeOwned;
use std::fmt;

/// Why a YAML text could not be read: the parser's message, and where when it knows.
#[derive(Debug)]
pub struct YamlError {
    pub message: String,
    /// Line and column, from 1.
    pub at: Option<(usize, usize)>,
}

impl YamlError {
    /// `line L, column C`, when the parser said.
    pub fn location(&self) -> Option<String> {
        self.at
            .map(|(line, column)| format!("line {line}, column {column}"))
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Reads `text` as YAML into `T`.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    match std::panic::catch_unwind(|| serde_norway::from_str::<T>(text)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(YamlError {
            at: e.location().map(|l| (l.line(), l.column())),
            message: e.to_string(),
        }),
        Err(_) => Err(YamlError {
            message: "the YAML could not be read".into(),
            at: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Deserializer};

    #[test]
    fn values_read_and_errors_say_where() {
        let value: serde_json::Value = parse("title: Orders\norder: 2\n").unwrap();
        assert_eq!(value["order"], 2);
        let err = parse::<serde_json::Value>("title: Orders\nlist: [1, 2\n").unwrap_err();
        assert!(err.location().unwrap().starts_with("line "), "{err:?}");
        assert!(!err.message.is_empty());
    }

    /// Stands for a defect inside the parser: its `Deserialize` panics.
    #[derive(Debug)]
    struct Defect;

    impl<'de> Deserialize<'de> for Defect {
        fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
            panic!("a defect while reading YAML")
        }
    }

    #[test]
    fn a_panic_inside_the_parser_is_an_error() {
        let err = parse::<Defect>("title: x\n").unwrap_err();
        assert_eq!(err.message, "the YAML could not be read");
        assert_eq!(err.location(), None);
    }
}
