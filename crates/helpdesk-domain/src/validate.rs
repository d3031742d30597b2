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

/// Control characters that multi-line text (a message body, a free-text field, search words)
/// may hold: line breaks and tabs. Every other control character (NUL, escape, delete, ...) is
/// refused wherever text comes in.
fn allowed_control(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\t')
}

/// Characters that break a line: a single-line value must hold none of them.
fn breaks_line(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

fn control_characters(field: &'static str) -> ValidationError {
    ValidationError::Malformed {
        field,
        reason: "contains control characters".into(),
    }
}

/// Checks free text that may be empty and span lines (a description): no control character
/// other than line breaks and tabs.
pub fn check_free_text(field: &'static str, value: &str) -> Result<(), ValidationError> {
    if value.chars().any(|c| c.is_control() && !allowed_control(c)) {
        return Err(control_characters(field));
    }
    Ok(())
}

/// Checks a required multi-line text field (line breaks and tabs allowed, no other control
/// character) and returns it trimmed.
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
    check_free_text(field, trimmed)?;
    Ok(trimmed)
}

/// Checks a required single-line text field (no line break, no tab, no other control
/// character) and returns it trimmed.
pub(crate) fn required_line<'a>(
    field: &'static str,
    value: &'a str,
    max: usize,
) -> Result<&'a str, ValidationError> {
    let line = required_text(field, value, max)?;
    if line.contains(breaks_line) {
        return Err(ValidationError::Malformed {
            field,
            reason: "must be one line".into(),
        });
    }
    if line.contains(char::is_control) {
        return Err(control_characters(field));
    }
    Ok(line)
}

/// Trims a name and checks it; the result is what is stored.
pub fn normalize_name(
    field: &'static str,
    value: &str,
    limits: &Limits,
) -> Result<String, ValidationError> {
    Ok(required_line(field, value, limits.max_name_chars)?.to_owned())
}

/// Trims a single-line value that has no limit in [`Limits`] (a plugin's name, a version) and
/// checks it: not empty, at most `max` characters, no line break, tab or other control character.
pub fn normalize_line(
    field: &'static str,
    value: &str,
    max: usize,
) -> Result<String, ValidationError> {
    Ok(required_line(field, value, max)?.to_owned())
}

/// Checks the free text of a search: at most `max_query_chars` characters, and no control
/// character other than line breaks and tabs (which separate words like spaces).
pub fn check_search_text(text: &str, limits: &Limits) -> Result<(), ValidationError> {
    const FIELD: &str = "text";
    let len = text.chars().count();
    if len > limits.max_query_chars {
        return Err(ValidationError::TooLong {
            field: FIELD,
            len,
            max: limits.max_query_chars,
        });
    }
    check_free_text(FIELD, text)
}

/// Checks an email address and returns its case-folded form, used for uniqueness.
///
/// The check is deliberately modest (one `@`, a non-empty local part, a dotted domain, no spaces):
/// the real proof of an address is a message reaching it.
pub fn normalize_email(value: &str) -> Result<String, ValidationError> {
    const FIELD: &str = "email";
    let email = required_line(FIELD, value, 254)?;
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
    let tag = required_line(FIELD, value, limits.max_tag_chars)?;
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
    use crate::ticket::normalize_subject;

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
        assert!(normalize_name("name", &"x".repeat(201), &limits).is_err());
    }

    #[test]
    fn text_is_refused_by_shape() {
        let limits = Limits::default();
        // (input, single-line fields, multi-line fields, search text)
        let line = "must be one line";
        let control = "contains control characters";
        // The fragment of the refusal, or `None` when the text is accepted.
        type Refusal = Option<&'static str>;
        let cases: &[(&str, Refusal, Refusal, Refusal)] = &[
            ("plain words", None, None, None),
            ("a\0b", Some(control), Some(control), Some(control)),
            ("zbob\0subj", Some(control), Some(control), Some(control)),
            ("bell\u{7}", Some(control), Some(control), Some(control)),
            (
                "esc \u{1b}[31m red",
                Some(control),
                Some(control),
                Some(control),
            ),
            ("del\u{7f}", Some(control), Some(control), Some(control)),
            ("c1\u{9b}", Some(control), Some(control), Some(control)),
            ("tab\tstop", Some(control), None, None),
            ("two\nlines", Some(line), None, None),
            ("crlf\r\nlines", Some(line), None, None),
            ("nel\u{85}line", Some(control), Some(control), Some(control)),
            ("ls\u{2028}line", Some(line), None, None),
            ("ps\u{2029}line", Some(line), None, None),
            ("quotes \" ' and NEAR(", None, None, None),
            ("accents é ß 日本 🎫", None, None, None),
        ];
        let outcome = |r: Result<(), ValidationError>| r.err().map(|e| e.to_string());
        for &(input, single, multi, search) in cases {
            let expect = |want: Option<&str>, got: Option<String>, what: &str| match (want, got) {
                (None, None) => {}
                (Some(want), Some(got)) => assert!(got.contains(want), "{what} {input:?}: {got}"),
                (want, got) => panic!("{what} {input:?}: want {want:?}, got {got:?}"),
            };
            for (what, got) in [
                (
                    "name",
                    outcome(normalize_name("name", input, &limits).map(drop)),
                ),
                (
                    "subject",
                    outcome(normalize_subject(input, &limits).map(drop)),
                ),
                (
                    "email",
                    outcome(normalize_email(&format!("{input}@example.com")).map(drop)),
                ),
                ("tag", outcome(validate_tag(input, &limits).map(drop))),
            ] {
                // E-mail addresses and tags refuse white space as well.
                let single = match what {
                    "email" | "tag" if single.is_none() && input.contains(char::is_whitespace) => {
                        Some("white space")
                    }
                    _ => single,
                };
                expect(single, got, what);
            }
            expect(
                multi,
                outcome(required_text("body", input, 100).map(drop)),
                "body",
            );
            expect(search, outcome(check_search_text(input, &limits)), "search");
        }
        assert_eq!(
            check_search_text(&"x".repeat(501), &limits),
            Err(ValidationError::TooLong {
                field: "text",
                len: 501,
                max: 500
            })
        );
        assert_eq!(check_search_text("", &limits), Ok(()));
    }
}
