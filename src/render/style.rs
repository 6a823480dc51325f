//! When to colour, and which colour each thing gets.

use std::io::IsTerminal;

use anstyle::{AnsiColor, Style};

/// Whether colour is wanted: stdout is a terminal, `--no-color` was not given, `NO_COLOR` is
/// unset or empty, and `TERM` is not `dumb`.
pub(crate) fn colour_wanted(no_color_flag: bool) -> bool {
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
    !no_color_flag && !no_color_env && !dumb && std::io::stdout().is_terminal()
}

/// Paints text, or leaves it plain when colour is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Palette {
    enabled: bool,
}

impl Palette {
    /// A palette that colours when `enabled`.
    pub(crate) fn new(enabled: bool) -> Self {
        Palette { enabled }
    }

    /// A palette that never colours.
    pub(crate) fn plain() -> Self {
        Palette { enabled: false }
    }

    /// Whether this palette colours at all.
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// `text` in `style`.
    pub(crate) fn paint(&self, text: &str, style: Style) -> String {
        if self.enabled {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    /// Bold text.
    pub(crate) fn bold(&self, text: &str) -> String {
        self.paint(text, Style::new().bold())
    }
}

/// The terminal colour that stands for a colour value: its own colour when it names one,
/// otherwise blue for the first and green for the second.
pub(crate) fn ansi_for(colour: &str, index: usize) -> AnsiColor {
    match colour.to_ascii_lowercase().as_str() {
        "blue" => AnsiColor::Blue,
        "green" => AnsiColor::Green,
        "red" => AnsiColor::Red,
        "yellow" | "orange" => AnsiColor::Yellow,
        "cyan" | "teal" => AnsiColor::Cyan,
        "magenta" | "purple" | "pink" => AnsiColor::Magenta,
        _ if index == 0 => AnsiColor::Blue,
        _ => AnsiColor::Green,
    }
}

/// The same colour for comfy-table cells.
pub(crate) fn table_colour(colour: &str, index: usize) -> comfy_table::Color {
    use comfy_table::Color;
    match ansi_for(colour, index) {
        AnsiColor::Blue => Color::Blue,
        AnsiColor::Green => Color::Green,
        AnsiColor::Red => Color::Red,
        AnsiColor::Yellow => Color::Yellow,
        AnsiColor::Cyan => Color::Cyan,
        AnsiColor::Magenta => Color::Magenta,
        _ => Color::Reset,
    }
}

/// Style of a colour's name.
pub(crate) fn colour_style(colour: &str, index: usize) -> Style {
    Style::new()
        .bold()
        .fg_color(Some(ansi_for(colour, index).into()))
}

/// Style for "safe".
pub(crate) fn good() -> Style {
    Style::new().bold().fg_color(Some(AnsiColor::Green.into()))
}

/// Style for "not safe".
pub(crate) fn bad() -> Style {
    Style::new().bold().fg_color(Some(AnsiColor::Red.into()))
}

/// Style for notes.
pub(crate) fn dim() -> Style {
    Style::new().dimmed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_palette_adds_no_escape_codes() {
        let p = Palette::plain();
        assert_eq!(p.paint("blue", colour_style("blue", 0)), "blue");
        let coloured = Palette::new(true).paint("blue", colour_style("blue", 0));
        assert!(coloured.contains('\u{1b}'));
    }

    #[test]
    fn colour_names_keep_their_colour() {
        assert_eq!(ansi_for("green", 0), AnsiColor::Green);
        assert_eq!(ansi_for("v1", 0), AnsiColor::Blue);
        assert_eq!(ansi_for("v2", 1), AnsiColor::Green);
    }
}
