//! Output for a person: short headings, indented lines wrapped to a
//! readable width, colour only when standard output is a terminal (and
//! `NO_COLOR` is unset), and a progress counter redrawn in place on a
//! terminal only, so a log file or a CI job gets clean lines.

use std::io::{IsTerminal as _, Write as _};

/// Lines are wrapped to this many characters.
const WIDTH: usize = 96;

/// Where the demo writes, and how.
pub struct Out {
    colour: bool,
    terminal: bool,
}

/// A text colour (plain ANSI SGR codes).
#[derive(Clone, Copy)]
pub enum Colour {
    /// Headings.
    Bold,
    /// Secondary facts: dates, entry numbers, hashes.
    Dim,
    /// Success.
    Green,
    /// Failure and attacks.
    Red,
    /// Warnings and alerts.
    Yellow,
    /// Commands to try.
    Cyan,
}

impl Colour {
    fn code(self) -> &'static str {
        match self {
            Colour::Bold => "1",
            Colour::Dim => "2",
            Colour::Green => "32",
            Colour::Red => "31",
            Colour::Yellow => "33",
            Colour::Cyan => "36",
        }
    }
}

impl Out {
    /// Output to standard output, coloured when it is a terminal.
    pub fn stdout() -> Out {
        let terminal = std::io::stdout().is_terminal();
        Out {
            colour: terminal && std::env::var_os("NO_COLOR").is_none(),
            terminal,
        }
    }

    /// `text` in `colour` (unchanged without colour).
    pub fn paint(&self, colour: Colour, text: &str) -> String {
        if self.colour {
            format!("\x1b[{}m{text}\x1b[0m", colour.code())
        } else {
            text.to_owned()
        }
    }

    /// A blank line, then `text` in bold.
    pub fn heading(&self, text: &str) {
        self.clear_progress();
        println!("\n{}", self.paint(Colour::Bold, text));
    }

    /// One line, indented by two spaces.
    pub fn line(&self, text: &str) {
        self.clear_progress();
        println!("  {text}");
    }

    /// A blank line.
    pub fn blank(&self) {
        self.clear_progress();
        println!();
    }

    /// `text` wrapped to the line width: the first line starts with
    /// `first`, the others with as many spaces. `first` is counted by
    /// characters, so pass it unpainted and `paint_first` to colour it.
    pub fn wrapped(&self, first: &str, text: &str, paint_first: Option<Colour>) {
        self.clear_progress();
        let indent = " ".repeat(first.chars().count());
        let lines = wrap(text, WIDTH.saturating_sub(indent.len()).max(40));
        for (i, l) in lines.iter().enumerate() {
            if i == 0 {
                let head = match paint_first {
                    Some(c) => self.paint(c, first),
                    None => first.to_owned(),
                };
                println!("{head}{l}");
            } else {
                println!("{indent}{l}");
            }
        }
    }

    /// A progress line redrawn in place; nothing when not on a terminal.
    pub fn progress(&self, text: &str) {
        if self.terminal {
            print!("\r\x1b[2K  {}", self.paint(Colour::Dim, text));
            let _ = std::io::stdout().flush();
        }
    }

    /// Removes a progress line, if one is shown.
    pub fn clear_progress(&self) {
        if self.terminal {
            print!("\r\x1b[2K");
        }
    }
}

/// Splits `text` into lines of at most `width` characters at spaces (a
/// longer word gets a line of its own).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `YYYY-MM-DD HH:MM` of a registry time (seconds since the epoch).
pub fn when(unix_seconds: i64) -> String {
    let text = crate::sample::rfc3339(unix_seconds);
    text.get(..16).unwrap_or(&text).replacen('T', " ", 1)
}

/// `YYYY-MM-DD` of a registry time.
pub fn day(unix_seconds: i64) -> String {
    let text = crate::sample::rfc3339(unix_seconds);
    text.get(..10).unwrap_or(&text).to_owned()
}

/// `a, b and c`.
pub fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `1 entry` / `3 entries`, `1 package` / `2 packages`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_keeps_long_words() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(
            wrap("averyveryverylongword x", 5),
            ["averyveryverylongword", "x"]
        );
    }

    #[test]
    fn times_lists_and_counts_read_well() {
        assert_eq!(when(1_778_527_200), "2026-05-11 19:20");
        assert_eq!(day(1_778_527_200), "2026-05-11");
        let items: Vec<String> = ["a", "b", "c"].map(String::from).into();
        assert_eq!(list(&items), "a, b and c");
        assert_eq!(list(&items[..1]), "a");
        assert_eq!(count(1, "entry", "entries"), "1 entry");
        assert_eq!(count(2, "entry", "entries"), "2 entries");
    }
}
