//! The suite format as typed values, parsed once at the edge: durations are
//! [`SimDuration`](crate::model::clock::SimDuration)s, shares [`Fraction`]s,
//! modes and phases enums, zones [`Zone`](crate::zone::Zone)s. Defaults sit
//! next to the fields they belong to. Cross-references (does this zone,
//! Rollout or PDB exist?) are the loader's job (`suite::load`); everything
//! after it reads these types and never re-parses a string.
//!
//! ```yaml
//! name: zone-c-spot-loss
//! topology: [topologies/zone-failover.yaml]   # relative to the suite file
//! load: {service: test, namespace: default, rps: 50}
//! steps:
//!   - wait: 30s
//!   - spot-loss: {zone: us-east-1c}
//!   - assert-failover: {zone: us-east-1c, to: [us-east-1a, us-east-1b], within: 30s}
//! finally:
//!   - restore: {zone: us-east-1c}
//! ```

pub mod fraction;
pub mod step;
pub mod suite;

pub use fraction::Fraction;
pub use step::{
    Action, CanarySpec, CrossZoneSpec, DrainSpec, ErrorBudgetSpec, Expectation, FailoverSpec,
    IsolationSpec, PdbSpec, RecoverySpec, RolloutArg, RolloutStateSpec, SpotLossMode, SpotLossSpec,
    StepCommon, WaitSpec, WaitUntil, ZoneArg,
};
pub use suite::{LoadSpec, SuiteFile, TimingSpec};

/// The longest piece of user input an error message repeats.
pub const QUOTE_LIMIT: usize = 200;

/// `text` as an error message may quote it: at most [`QUOTE_LIMIT`]
/// characters (a 5 MB line is not echoed back), marked when cut.
pub fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_LIMIT) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

/// `message` with every quoted run (between `"`, `'` or backticks) longer
/// than [`QUOTE_LIMIT`] cut: parsers' messages echo whole values (a 5 MB
/// line, a whole file read as a string), and no error should repeat them.
pub fn cut_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(4 * QUOTE_LIMIT));
    let mut rest = message;
    while let Some(open) = rest.find(['"', '\'', '`']) {
        let delim = rest[open..].chars().next().unwrap_or('"');
        out.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        let (inner, tail) = match after.find(delim) {
            Some(close) => (&after[..close], &after[close..]),
            None => (after, ""),
        };
        out.push_str(&quote(inner));
        if tail.is_empty() {
            return out;
        }
        out.push(delim);
        rest = &tail[delim.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// The longest unbroken word (a path, a number) an error message keeps:
/// room for real paths, not for a 100,000-character argument.
pub const WORD_LIMIT: usize = 512;

/// `message` as an error may print it: quoted runs cut by [`cut_quoted`],
/// then any unbroken word longer than [`WORD_LIMIT`] cut the same way.
pub fn cut_echoes(message: &str) -> String {
    let quoted = cut_quoted(message);
    if !quoted.split_whitespace().any(|w| w.len() > WORD_LIMIT) {
        return quoted;
    }
    let mut out = String::with_capacity(quoted.len().min(8 * WORD_LIMIT));
    let mut word_start = 0;
    for (i, c) in quoted
        .char_indices()
        .chain(std::iter::once((quoted.len(), ' ')))
    {
        if c.is_whitespace() {
            let word = &quoted[word_start..i];
            match word.char_indices().nth(WORD_LIMIT) {
                Some((cut, _)) => {
                    out.push_str(&word[..cut]);
                    out.push('…');
                }
                None => out.push_str(word),
            }
            if i < quoted.len() {
                out.push(c);
            }
            word_start = i + c.len_utf8();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    /// issue 10 item 12: a 100,000-character path argument was echoed whole.
    #[test]
    fn long_words_are_cut_and_spacing_kept() {
        let path = "z".repeat(100_000);
        let msg = format!("cannot read suite {path}: File name too long\n  next line");
        let cut = super::cut_echoes(&msg);
        assert!(cut.len() < 600, "{}", cut.len());
        assert!(cut.starts_with("cannot read suite zzz"), "{cut}");
        assert!(cut.ends_with("… File name too long\n  next line"), "{cut}");
        assert_eq!(super::cut_echoes("a  b\n c"), "a  b\n c");
    }

    /// issue 10 item 12: `profile: /etc/passwd` echoed the whole file.
    #[test]
    fn quoted_runs_in_messages_are_cut() {
        let file = "root:x:0:0".repeat(500);
        let msg = format!("invalid type: string \"{file}\", expected struct ClusterProfile");
        let cut = super::cut_quoted(&msg);
        assert!(cut.len() < 300, "{cut}");
        assert!(
            cut.starts_with("invalid type: string \"root:x:0:0"),
            "{cut}"
        );
        assert!(
            cut.ends_with("…\", expected struct ClusterProfile"),
            "{cut}"
        );
        // Short quotes, an unclosed quote and plain text are kept.
        for keep in [
            "unknown field `x`, expected `until`",
            "it's 'ok'",
            "no quotes",
        ] {
            assert_eq!(super::cut_quoted(keep), keep);
        }
        let open = format!("a \"{}", "y".repeat(1000));
        assert!(super::cut_quoted(&open).chars().count() < 210);
    }

    #[test]
    fn quotes_are_cut_at_the_limit() {
        assert_eq!(super::quote("30s"), "30s");
        let long = "é".repeat(5000);
        let q = super::quote(&long);
        assert_eq!(q.chars().count(), super::QUOTE_LIMIT + 1);
        assert!(q.ends_with('…'));
    }
}
