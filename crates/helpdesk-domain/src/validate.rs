//! Shared validation rules and the size limits the embedding application may tune.

use crate::error::ValidationError;

/// Size limits on input. The defaults suit a helpdesk; an application may tighten or relax them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest ticket subject, in characters.
    pub max_subject_chars: usize,
    /// Longest message body, in characters.
    pub max_body_chars: usize,
    /// Longest name (agent, department, requester, organisation, field label), in characters.
    pub max_name_chars: usize,
    /// Most tags on one ticket.
    pub max_tags: usize,
    /// Longest tag, in characters.
    pub max_tag_chars: usize,
    /// Longest custom field text value, in characters.
    pub max_field_text_chars: usize,
    /// Most tickets in one bulk import call.
    pub max_import_batch: usize,
    /// Largest search page.
    pub max_page_size: usize,
    /// Longest search query text, in characters.
    pub max_query_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_subject_chars: 500,
            max_body_chars: 100_000,
            max_name_chars: 200,
            max_tags: 50,
            max_tag_chars: 64,
            max_field_text_chars: 5_000,
            max_import_batch: 100_000,
            max_page_size: 500,
            max_query_chars: 500,
        }
    }
}

/// Checks a required text field and returns it trimmed.
pub(crate) fn required_text<'a>(
    field: &'static str,
    value: &'a str,
    max: usize,
) -> Result<&'a str, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    let len = trimmed.chars().count();
    if len > max {
        return Err(ValidationError::TooLong { field, len, max });
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(ValidationError::Malformed {
            field,
            reason: "contains control characters".into(),
        });
    }
    Ok(trimmed)
}

/// Trims a name and checks it; the result is what is stored.
pub fn normalize_name(
    field: &'static str,
    value: &str,
    limits: &Limits,
) -> Result<String, ValidationError> {
    let name = required_text(field, value, limits.max_name_chars)?;
    if name.contains(['\n', '\r', '\t']) {
        return Err(ValidationError::Malformed {
            field,
            reason: "must be one line".into(),
        });
    }
    Ok(name.to_owned())
}

/// Checks an email address and returns its case-folded form, used for uniqueness.
///
/// The check is deliberately modest (one `@`, a non-empty local part, a dotted domain, no spaces):
/// the real proof of an address is a message reaching it.
pub fn normalize_email(value: &str) -> Result<String, ValidationError> {
    const FIELD: &str = "email";
    let email = required_text(FIELD, value, 254)?;
    let bad = |reason: &str| ValidationError::Malformed {
        field: FIELD,
        reason: reason.into(),
    };
    if email.chars().any(char::is_whitespace) {
        return Err(bad("contains white space"));
    }
    let (local, domain) = email.split_once('@').ok_or_else(|| bad("has no `@`"))?;
    if local.is_empty() || domain.contains('@') {
        return Err(bad(
            "must have exactly one `@` after a non-empty local part",
        ));
    }
    if !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
    {
        return Err(bad("the domain must be a dotted name like `example.com`"));
    }
    Ok(email.to_lowercase())
}

/// Checks a tag and returns its normal form: trimmed, lower case, no white space or commas.
pub fn validate_tag(value: &str, limits: &Limits) -> Result<String, ValidationError> {
    const FIELD: &str = "tag";
    let tag = required_text(FIELD, value, limits.max_tag_chars)?;
    if tag.chars().any(|c| c.is_whitespace() || c == ',') {
        return Err(ValidationError::Malformed {
            field: FIELD,
            reason: format!("`{tag}` contains white space or a comma"),
        });
    }
    Ok(tag.to_lowercase())
}

/// Normalizes a list of tags: validated, lower-cased, de-duplicated, sorted, and counted.
pub(crate) fn normalize_tags(
    tags: &[String],
    limits: &Limits,
) -> Result<Vec<String>, ValidationError> {
    let mut out = tags
        .iter()
        .map(|t| validate_tag(t, limits))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort();
    out.dedup();
    if out.len() > limits.max_tags {
        return Err(ValidationError::TooMany {
            what: "tags",
            count: out.len(),
            max: limits.max_tags,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        let check = |input: &str, expected: Result<&str, &str>| {
            let got = normalize_email(input);
            match (got, expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{input}"),
                (Err(e), Err(fragment)) => {
                    assert!(e.to_string().contains(fragment), "{input}: {e}")
                }
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        };
        check("Ann@Example.COM", Ok("ann@example.com"));
        check("  bob@example.org ", Ok("bob@example.org"));
        check("", Err("must not be empty"));
        check("ann", Err("no `@`"));
        check("@example.com", Err("non-empty local part"));
        check("a@b@example.com", Err("exactly one"));
        check("ann@localhost", Err("dotted"));
        check("ann@example..com", Err("dotted"));
        check("ann smith@example.com", Err("white space"));
    }

    #[test]
    fn tags_are_normalized() {
        let limits = Limits {
            max_tags: 3,
            ..Limits::default()
        };
        let tags = ["VIP", "billing", "vip"].map(String::from);
        assert_eq!(normalize_tags(&tags, &limits).unwrap(), ["billing", "vip"]);
        let bad = ["two words"].map(String::from);
        assert!(normalize_tags(&bad, &limits).is_err());
        let many = ["a", "b", "c", "d"].map(String::from);
        assert_eq!(
            normalize_tags(&many, &limits).unwrap_err(),
            ValidationError::TooMany {
                what: "tags",
                count: 4,
                max: 3
            }
        );
    }

    #[test]
    fn names_refuse_control_and_multiline() {
        let limits = Limits::default();
        assert_eq!(
            normalize_name("name", "  Billing ", &limits).unwrap(),
            "Billing"
        );
        assert!(normalize_name("name", "a\nb", &limits).is_err());
        assert!(normalize_name("name", "a\u{0}b", &limits).is_err());
        assert!(normalize_name("name", &"x".repeat(201), &limits).is_err());
    }
}
