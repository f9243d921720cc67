//! The syntax of Yarn classic's `yarn.lock` (v1), which is not YAML: blocks
//! of `descriptor[, descriptor…]:` at the left margin, each followed by
//! indented `key value` lines (values optionally double-quoted) and nested
//! `key:` blocks (`dependencies:`), `#` comments and blank lines. This
//! reads the blocks and their top-level fields; nested blocks are skipped.
//! Every error names its line and column.

/// One top-level block.
#[derive(Debug)]
pub(super) struct Block {
    /// Its 1-based line.
    pub line: usize,
    /// The descriptors of its header (`"a@^1.0.0"`, `a@~1.1.0`), unquoted.
    pub descriptors: Vec<String>,
    /// Its top-level fields (`version`, `resolved`, `integrity`), unquoted.
    pub fields: Vec<(String, String)>,
}

impl Block {
    /// A field's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A syntax error: (line, column, message).
pub(super) type SyntaxError = (usize, usize, String);

/// The blocks of `text`.
pub(super) fn blocks(text: &str) -> Result<Vec<Block>, SyntaxError> {
    let mut out: Vec<Block> = Vec::new();
    // The indentation of the block's fields, once seen.
    let mut field_indent: Option<usize> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let content = raw.trim_end_matches('\r');
        let trimmed = content.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = content.len() - trimmed.len();
        if trimmed.starts_with('\t') {
            return Err((line, indent + 1, "tab in indentation".into()));
        }
        if indent == 0 {
            let Some(header) = trimmed.strip_suffix(':') else {
                return Err((
                    line,
                    trimmed.len() + 1,
                    "expected `:` at the end of a block header".into(),
                ));
            };
            let descriptors = header
                .split(", ")
                .map(|d| unquote(d.trim()).map_err(|(col, m)| (line, col, m)))
                .collect::<Result<Vec<_>, _>>()?;
            if descriptors.iter().any(String::is_empty) {
                return Err((line, 1, "empty descriptor".into()));
            }
            out.push(Block {
                line,
                descriptors,
                fields: Vec::new(),
            });
            field_indent = None;
            continue;
        }
        let Some(block) = out.last_mut() else {
            return Err((line, indent + 1, "indented line before any block".into()));
        };
        let expected = *field_indent.get_or_insert(indent);
        if indent > expected {
            continue; // inside a nested block such as `dependencies:`
        }
        if indent < expected {
            return Err((line, indent + 1, "inconsistent indentation".into()));
        }
        if trimmed.ends_with(':') {
            continue; // a nested block's header
        }
        let (key, value) = split_field(trimmed)
            .ok_or_else(|| (line, indent + 1, "expected `key value`".to_owned()))?;
        let key = unquote(key).map_err(|(c, m)| (line, indent + c, m))?;
        let value = unquote(value).map_err(|(c, m)| (line, indent + key.len() + 1 + c, m))?;
        block.fields.push((key, value));
    }
    Ok(out)
}

/// `key value`, where the key may be quoted.
fn split_field(text: &str) -> Option<(&str, &str)> {
    if let Some(rest) = text.strip_prefix('"') {
        let end = rest.find('"')? + 2;
        let (key, value) = text.split_at(end);
        return Some((key, value.strip_prefix(' ')?));
    }
    text.split_once(' ')
}

/// A value without its double quotes (and `\"`, `\\` escapes), or as is.
/// The error is (1-based column in `text`, message).
fn unquote(text: &str) -> Result<String, (usize, String)> {
    let Some(inner) = text.strip_prefix('"') else {
        return Ok(text.to_owned());
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                return if chars.as_str().is_empty() {
                    Ok(out)
                } else {
                    Err((
                        text.len() - chars.as_str().len() + 1,
                        "text after a closing quote".into(),
                    ))
                };
            }
            '\\' => match chars.next() {
                Some(e) => out.push(e),
                None => break,
            },
            c => out.push(c),
        }
    }
    Err((text.len() + 1, "unterminated string".into()))
}
