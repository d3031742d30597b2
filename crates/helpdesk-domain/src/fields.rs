//! Custom ticket fields: definitions made by an administrator, and values checked against them.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::ids::FieldId;
use crate::time::{Timestamp, civil_from_days};
use crate::validate::{Limits, normalize_name, required_text};

/// The type of a custom field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "options", rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text.
    Text,
    /// A finite number.
    Number,
    /// Yes or no.
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of a fixed list of options.
    Choice(Vec<String>),
}

impl FieldKind {
    /// The kind's name.
    pub fn name(&self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Boolean => "boolean",
            FieldKind::Date => "date",
            FieldKind::Choice(_) => "choice",
        }
    }
}

/// A custom field value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum FieldValue {
    /// Free text.
    Text(String),
    /// A finite number.
    Number(f64),
    /// Yes or no.
    Boolean(bool),
    /// A date, `YYYY-MM-DD`.
    Date(String),
    /// One of the field's options.
    Choice(String),
}

/// A custom field as defined by an administrator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDefinition {
    /// Its id.
    pub id: FieldId,
    /// The stable key used in the API (`[a-z0-9_]`, starting with a letter).
    pub key: String,
    /// The label shown to people.
    pub label: String,
    /// Its type.
    pub kind: FieldKind,
    /// Hidden from requesters.
    pub agent_only: bool,
    /// When it was defined.
    pub created_at: Timestamp,
}

/// Input for a new custom field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewFieldDefinition {
    /// The stable key (`[a-z0-9_]`, starting with a letter, at most 64 characters).
    pub key: String,
    /// The label shown to people.
    pub label: String,
    /// Its type.
    pub kind: FieldKind,
    /// Hidden from requesters.
    #[serde(default)]
    pub agent_only: bool,
}

impl NewFieldDefinition {
    /// Validates the key, label and options.
    pub fn normalize(mut self, limits: &Limits) -> Result<Self, ValidationError> {
        let key = self.key.trim();
        let key_ok = (1..=64).contains(&key.len())
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            return Err(ValidationError::Malformed {
                field: "key",
                reason: format!(
                    "`{key}` must be 1 to 64 of `a-z`, `0-9`, `_`, starting with a letter"
                ),
            });
        }
        self.key = key.to_owned();
        self.label = normalize_name("label", &self.label, limits)?;
        if let FieldKind::Choice(options) = &mut self.kind {
            let mut cleaned = Vec::with_capacity(options.len());
            for option in options.iter() {
                let option = normalize_name("option", option, limits)?;
                if cleaned.contains(&option) {
                    return Err(ValidationError::Malformed {
                        field: "options",
                        reason: format!("`{option}` is listed twice"),
                    });
                }
                cleaned.push(option);
            }
            if cleaned.is_empty() || cleaned.len() > 200 {
                return Err(ValidationError::Malformed {
                    field: "options",
                    reason: "a choice field needs 1 to 200 options".into(),
                });
            }
            *options = cleaned;
        }
        Ok(self)
    }
}

impl FieldDefinition {
    /// Checks a value against this definition and returns its normal form.
    pub fn check(&self, value: FieldValue, limits: &Limits) -> Result<FieldValue, ValidationError> {
        let wrong = |reason: String| ValidationError::FieldValue {
            key: self.key.clone(),
            reason,
        };
        match (&self.kind, value) {
            (FieldKind::Text, FieldValue::Text(text)) => {
                let text = required_text("value", &text, limits.max_field_text_chars)
                    .map_err(|e| wrong(e.to_string()))?;
                Ok(FieldValue::Text(text.to_owned()))
            }
            (FieldKind::Number, FieldValue::Number(n)) if n.is_finite() => {
                Ok(FieldValue::Number(n))
            }
            (FieldKind::Number, FieldValue::Number(_)) => {
                Err(wrong("the number must be finite".into()))
            }
            (FieldKind::Boolean, FieldValue::Boolean(b)) => Ok(FieldValue::Boolean(b)),
            (FieldKind::Date, FieldValue::Date(d)) => {
                if is_valid_date(d.trim()) {
                    Ok(FieldValue::Date(d.trim().to_owned()))
                } else {
                    Err(wrong(format!("`{d}` is not a date of the form YYYY-MM-DD")))
                }
            }
            (FieldKind::Choice(options), FieldValue::Choice(c)) => {
                match options.iter().find(|o| o.eq_ignore_ascii_case(c.trim())) {
                    Some(o) => Ok(FieldValue::Choice(o.clone())),
                    None => Err(wrong(format!("`{c}` is not one of its options"))),
                }
            }
            (kind, value) => Err(wrong(format!(
                "expects a {} value, got {}",
                kind.name(),
                value_kind_name(&value)
            ))),
        }
    }
}

fn value_kind_name(value: &FieldValue) -> &'static str {
    match value {
        FieldValue::Text(_) => "text",
        FieldValue::Number(_) => "number",
        FieldValue::Boolean(_) => "boolean",
        FieldValue::Date(_) => "date",
        FieldValue::Choice(_) => "choice",
    }
}

/// Whether `s` is a real calendar date written `YYYY-MM-DD`.
fn is_valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    if !(1..=12).contains(&m) || d == 0 {
        return false;
    }
    // Walk to the first of the next month and step back one day: the month's length.
    let days_from_civil = |y: i64, m: u32| -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = i64::from((m + 9) % 12);
        let doy = (153 * mp + 2) / 5;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    };
    let (ny, nm) = if m == 12 {
        (i64::from(y) + 1, 1)
    } else {
        (i64::from(y), m + 1)
    };
    let last = civil_from_days(days_from_civil(ny, nm) - 1).2;
    d <= last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(kind: FieldKind) -> FieldDefinition {
        FieldDefinition {
            id: FieldId::new(1),
            key: "k".into(),
            label: "K".into(),
            kind,
            agent_only: false,
            created_at: Timestamp::EPOCH,
        }
    }

    #[test]
    fn values_are_checked_against_their_kind() {
        let limits = Limits::default();
        let choice = def(FieldKind::Choice(vec!["Gold".into(), "Silver".into()]));
        assert_eq!(
            choice
                .check(FieldValue::Choice("gold".into()), &limits)
                .unwrap(),
            FieldValue::Choice("Gold".into())
        );
        assert!(
            choice
                .check(FieldValue::Choice("bronze".into()), &limits)
                .is_err()
        );
        assert!(
            choice
                .check(FieldValue::Text("Gold".into()), &limits)
                .unwrap_err()
                .to_string()
                .contains("expects a choice value")
        );
        let number = def(FieldKind::Number);
        assert!(number.check(FieldValue::Number(f64::NAN), &limits).is_err());
        assert!(number.check(FieldValue::Number(2.5), &limits).is_ok());
        let date = def(FieldKind::Date);
        for (d, ok) in [
            ("2024-02-29", true),
            ("2023-02-29", false),
            ("2026-12-31", true),
            ("2026-13-01", false),
            ("2026-1-01", false),
            ("2026-04-31", false),
        ] {
            assert_eq!(
                date.check(FieldValue::Date(d.into()), &limits).is_ok(),
                ok,
                "{d}"
            );
        }
        let text = def(FieldKind::Text);
        assert!(text.check(FieldValue::Text("  ".into()), &limits).is_err());
    }

    #[test]
    fn definitions_are_validated() {
        let limits = Limits::default();
        let ok = NewFieldDefinition {
            key: "plan".into(),
            label: "Plan".into(),
            kind: FieldKind::Choice(vec!["a".into(), "b".into()]),
            agent_only: true,
        };
        assert!(ok.normalize(&limits).is_ok());
        for key in ["", "Plan", "1plan", "plan-name"] {
            let bad = NewFieldDefinition {
                key: key.into(),
                label: "x".into(),
                kind: FieldKind::Text,
                agent_only: false,
            };
            assert!(bad.normalize(&limits).is_err(), "{key}");
        }
        let dup = NewFieldDefinition {
            key: "p".into(),
            label: "P".into(),
            kind: FieldKind::Choice(vec!["a".into(), "a".into()]),
            agent_only: false,
        };
        assert!(dup.normalize(&limits).is_err());
        let empty = NewFieldDefinition {
            key: "p".into(),
            label: "P".into(),
            kind: FieldKind::Choice(vec![]),
            agent_only: false,
        };
        assert!(empty.normalize(&limits).is_err());
    }
}
