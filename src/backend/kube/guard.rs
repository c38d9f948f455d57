//! What the harness may touch on a cluster it did not create
//! (`--backend existing`): an explicit allow-list of kubeconfig contexts
//! and a namespace that is visibly the harness's. Chaos against production
//! by a typo in `--context` must be impossible.

use std::path::Path;

pub use crate::topology::labels::dns_label_problem;

/// Prefix every harness namespace carries.
pub const NAMESPACE_PREFIX: &str = "zonechaos";

/// Label the harness puts on (and expects on) its namespaces.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "zonechaos");

/// Environment variable listing allowed contexts, comma-separated.
pub const ALLOW_ENV: &str = "ZONECHAOS_ALLOWED_CONTEXTS";

/// A kubeconfig context the user has allowed chaos against.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AllowedContext(String);

impl AllowedContext {
    /// The context's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why the harness refuses a cluster or namespace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// The context is not in the allow-list.
    #[error(
        "context {context:?} is not allowed for chaos (allowed: {allowed}); add it with --allow-context {context} or {ALLOW_ENV}={context}, or list it in {file}"
    )]
    ContextNotAllowed {
        /// The context asked for.
        context: String,
        /// The allow-list, for the message.
        allowed: String,
        /// The allow-list file consulted.
        file: String,
    },
    /// The namespace does not look like the harness's.
    #[error(
        "namespace {0:?} is not the harness's: its name must start with {NAMESPACE_PREFIX:?} (e.g. zonechaos-test)"
    )]
    ForeignNamespace(String),
    /// The name is no RFC 1123 label, as namespace names must be.
    #[error("namespace {name:?} is not a valid namespace name: {problem}")]
    InvalidNamespace {
        /// The name given.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The namespace exists without the harness's label.
    #[error(
        "namespace {0:?} exists but is not labelled {k}={v}: zonechaos only runs chaos in namespaces it created",
        k = MANAGED_BY.0, v = MANAGED_BY.1
    )]
    UnlabelledNamespace(String),
    /// The allow-list file cannot be read.
    #[error("cannot read the context allow-list {file}: {message}")]
    BadAllowList {
        /// The file.
        file: String,
        /// What went wrong.
        message: String,
    },
}

/// The allow-list: `--allow-context` flags, then `ZONECHAOS_ALLOWED_CONTEXTS`
/// (comma-separated), then the file (one context per line, `#` comments;
/// `None` when there is no config home, see [`default_allow_file`]).
/// A missing file is an empty list; an unreadable one is an error.
pub fn allow_list(
    flags: &[String],
    env: Option<&str>,
    file: Option<&Path>,
) -> Result<Vec<AllowedContext>, GuardError> {
    let mut out: Vec<AllowedContext> = flags
        .iter()
        .map(|s| s.trim())
        .chain(env.unwrap_or_default().split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| AllowedContext(s.to_owned()))
        .collect();
    let Some(file) = file else {
        out.sort();
        out.dedup();
        return Ok(out);
    };
    match crate::fsread::read_text(file) {
        Ok(text) => out.extend(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or_default().trim())
                .filter(|l| !l.is_empty())
                .map(|l| AllowedContext(l.to_owned())),
        ),
        Err(e) if e.is_not_found() => {}
        Err(e) => {
            return Err(GuardError::BadAllowList {
                file: file.display().to_string(),
                message: e.reason(),
            });
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The default allow-list file: `$XDG_CONFIG_HOME/zonechaos/allowed-contexts`
/// or `~/.config/zonechaos/allowed-contexts`. Only absolute bases count (the
/// XDG base directory spec ignores a relative `XDG_CONFIG_HOME`): the list
/// is never read from the current directory, where a checkout could plant
/// one. `None` when neither is set.
pub fn default_allow_file() -> Option<std::path::PathBuf> {
    allow_file_under(
        std::env::var_os("XDG_CONFIG_HOME").as_deref(),
        std::env::var_os("HOME").as_deref(),
    )
}

fn allow_file_under(
    xdg_config_home: Option<&std::ffi::OsStr>,
    home: Option<&std::ffi::OsStr>,
) -> Option<std::path::PathBuf> {
    let absolute =
        |v: &std::ffi::OsStr| Path::new(v).is_absolute().then(|| Path::new(v).to_owned());
    xdg_config_home
        .and_then(absolute)
        .or_else(|| home.and_then(absolute).map(|h| h.join(".config")))
        .map(|base| base.join("zonechaos").join("allowed-contexts"))
}

/// Checks `context` against the allow-list (`file`: the one consulted).
pub fn check_context(
    context: &str,
    allowed: &[AllowedContext],
    file: Option<&Path>,
) -> Result<AllowedContext, GuardError> {
    allowed
        .iter()
        .find(|a| a.0 == context)
        .cloned()
        .ok_or_else(|| GuardError::ContextNotAllowed {
            context: context.to_owned(),
            allowed: if allowed.is_empty() {
                "none".to_owned()
            } else {
                allowed
                    .iter()
                    .map(|a| a.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            file: file.map_or_else(
                || "~/.config/zonechaos/allowed-contexts (HOME is not set)".to_owned(),
                |f| f.display().to_string(),
            ),
        })
}

/// Checks a namespace's name, and its labels when it already exists
/// (`None`: it does not exist yet and the harness will create it labelled).
pub fn check_namespace(
    name: &str,
    existing_labels: Option<&std::collections::BTreeMap<String, String>>,
) -> Result<(), GuardError> {
    if let Some(problem) = dns_label_problem(name) {
        return Err(GuardError::InvalidNamespace {
            name: name.to_owned(),
            problem,
        });
    }
    if !name.starts_with(NAMESPACE_PREFIX) {
        return Err(GuardError::ForeignNamespace(name.to_owned()));
    }
    match existing_labels {
        Some(labels) if labels.get(MANAGED_BY.0).map(String::as_str) != Some(MANAGED_BY.1) => {
            Err(GuardError::UnlabelledNamespace(name.to_owned()))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn allow_list_merges_flags_env_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("allowed");
        std::fs::write(
            &file,
            "# staging clusters\nstaging-eks  # us-east-1\n\nkind-x\n",
        )
        .unwrap();
        let list = allow_list(&["dev".into()], Some("ci, kind-x"), Some(&file)).unwrap();
        let names: Vec<&str> = list.iter().map(AllowedContext::as_str).collect();
        assert_eq!(names, ["ci", "dev", "kind-x", "staging-eks"]);
    }

    #[test]
    fn missing_file_is_empty_and_unknown_context_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("none");
        let list = allow_list(&[], None, Some(&file)).unwrap();
        assert!(list.is_empty());
        let e = check_context("prod-eks", &list, Some(&file)).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("prod-eks") && text.contains("allowed: none"),
            "{text}"
        );
        assert!(text.contains("--allow-context prod-eks"), "{text}");
    }

    #[test]
    fn an_allowed_context_passes() {
        let list =
            allow_list(&["staging".into()], None, Some(Path::new("/nonexistent/x"))).unwrap();
        assert_eq!(
            check_context("staging", &list, None).unwrap().as_str(),
            "staging"
        );
    }

    #[test]
    fn an_unreadable_allow_list_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        // A directory cannot be read as a file.
        let e = allow_list(&[], None, Some(dir.path())).unwrap_err();
        assert!(matches!(e, GuardError::BadAllowList { .. }), "{e}");
    }

    #[test]
    fn namespaces_must_be_the_harness_s() {
        assert!(check_namespace("zonechaos-test", None).is_ok());
        assert_eq!(
            check_namespace("default", None),
            Err(GuardError::ForeignNamespace("default".into()))
        );
        let mut labels = BTreeMap::new();
        assert_eq!(
            check_namespace("zonechaos-test", Some(&labels)),
            Err(GuardError::UnlabelledNamespace("zonechaos-test".into()))
        );
        labels.insert(MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned());
        assert!(check_namespace("zonechaos-test", Some(&labels)).is_ok());
    }

    /// Cases after apimachinery's TestIsDNS1123Label
    /// (pkg/util/validation/validation_test.go): good and bad labels.
    #[test]
    fn namespaces_are_rfc_1123_labels() {
        for good in ["zonechaos", "zonechaos-a", "zonechaos-1-2", "zonechaos0"] {
            assert_eq!(check_namespace(good, None), Ok(()), "{good}");
        }
        let long = format!("zonechaos-{}", "a".repeat(54));
        assert_eq!(long.len(), 64);
        for (bad, why) in [
            ("", "empty"),
            ("zonechaos-", "start and end"),
            ("zonechaos_test", "lowercase"),
            ("zonechaos.test", "lowercase"),
            ("ZoneChaos", "lowercase"),
            ("zonechaos test", "lowercase"),
            ("zonechaos/../kube-system", "lowercase"),
            (long.as_str(), "63"),
        ] {
            let e = check_namespace(bad, None).unwrap_err();
            assert!(
                matches!(e, GuardError::InvalidNamespace { .. }),
                "{bad}: {e}"
            );
            assert!(e.to_string().contains(why), "{bad}: {e}");
        }
        assert_eq!(dns_label_problem(&"a".repeat(63)), None);
    }

    #[test]
    fn the_allow_list_is_never_read_from_the_current_directory() {
        use std::ffi::OsStr;
        let file = |xdg: Option<&str>, home: Option<&str>| {
            allow_file_under(xdg.map(OsStr::new), home.map(OsStr::new))
        };
        assert_eq!(
            file(Some("/cfg"), Some("/home/u")),
            Some(Path::new("/cfg/zonechaos/allowed-contexts").to_owned())
        );
        assert_eq!(
            file(Some("relative"), Some("/home/u")),
            Some(Path::new("/home/u/.config/zonechaos/allowed-contexts").to_owned())
        );
        assert_eq!(file(Some(""), Some("/home/u")), file(None, Some("/home/u")));
        assert_eq!(file(None, None), None);
        assert_eq!(file(Some("."), Some("home")), None);
    }
}
