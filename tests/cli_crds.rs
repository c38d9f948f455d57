//! `zonechaos crds fetch|status` and `lint --crds auto` end to end: the
//! real binary downloads (curl, `file://` mirrors in temporary
//! directories) into a temporary cache. Tests that need the real upstream
//! files copy them from `../shared/crds` and are skipped without it; the
//! others build a fake mirror whose files cannot match the pins.

use std::path::{Path, PathBuf};
use std::process::Output;

#[path = "common/output.rs"]
mod output;
use output::{code, s, stderr, stdout};

use zonechaos::download::{Sha256Hex, sha256_file};
use zonechaos::pins::CRD_PINS;

/// A VirtualService whose weight is a string: ZC4001 with the Istio CRD.
const STRING_WEIGHT: &str = "\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: shop}
spec:
  hosts: [web]
  http:
    - name: main
      route:
        - destination: {host: web}
          weight: \"90\"
";

/// The binary with `HOME` and `XDG_CACHE_HOME` as given (`None` unsets),
/// no mirror from the environment, no colour.
fn zonechaos(args: &[&str], home: &Path, xdg_cache: Option<&Path>) -> Output {
    let mut cmd = output::zonechaos_command();
    cmd.args(args)
        .env("HOME", home)
        .env_remove("ZONECHAOS_CRDS_MIRROR");
    match xdg_cache {
        Some(dir) => cmd.env("XDG_CACHE_HOME", dir),
        None => cmd.env_remove("XDG_CACHE_HOME"),
    };
    cmd.output().expect("run zonechaos")
}

fn file_url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

/// A mirror `dir/<bundle>/<file>` whose files are `contents(pin index)`.
fn mirror_with(dir: &Path, contents: impl Fn(usize) -> Vec<u8>) -> PathBuf {
    let mirror = dir.join("mirror");
    for (i, pin) in CRD_PINS.iter().enumerate() {
        let path = mirror.join(pin.relative_path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents(i)).unwrap();
    }
    mirror
}

/// A temporary directory with a mirror of copies of the pinned upstream
/// files from ../shared/crds.
fn real_mirror() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let shared = Path::new(env!("ZONECHAOS_SHARED_CRDS_DIR"));
    let mirror = mirror_with(tmp.path(), |i| {
        std::fs::read(shared.join(CRD_PINS[i].relative_path())).expect("shared CRD readable")
    });
    (tmp, mirror)
}

/// Every file below `dir` (none when it does not exist).
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_below(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn fetch(cache: &Path, mirror: &Path, home: &Path) -> Output {
    zonechaos(
        &[
            "crds",
            "fetch",
            "--dir",
            s(cache),
            "--mirror",
            &file_url(mirror),
        ],
        home,
        None,
    )
}

#[test]
fn a_fake_mirror_is_refused_and_nothing_is_cached() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = |i: usize| format!("not the pinned file {i}\n").into_bytes();
    let mirror = mirror_with(tmp.path(), fake);
    let cache = tmp.path().join("cache");
    let out = fetch(&cache, &mirror, tmp.path());
    assert_eq!(code(&out), 3, "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    let first = &CRD_PINS[0];
    assert!(err.contains(first.sha256), "names the pinned digest: {err}");
    assert!(
        err.contains(Sha256Hex::of(&fake(0)).as_str()),
        "names the digest received: {err}"
    );
    assert!(
        err.contains(&format!(
            "{}/{}",
            file_url(&mirror),
            s(&first.relative_path())
        )),
        "names the URL: {err}"
    );
    assert!(err.contains("hint: "), "{err}");
    assert_eq!(files_below(&cache), Vec::<PathBuf>::new(), "nothing kept");
}

#[test]
fn the_mirror_can_come_from_the_environment_and_must_be_a_url() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = mirror_with(tmp.path(), |_| b"x".to_vec());
    let cache = tmp.path().join("cache");
    let out = output::zonechaos_command()
        .args(["crds", "fetch", "--dir", s(&cache)])
        .env("ZONECHAOS_CRDS_MIRROR", file_url(&mirror))
        .env("HOME", tmp.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&file_url(&mirror)),
        "{}",
        stderr(&out)
    );

    let out = zonechaos(
        &[
            "crds",
            "fetch",
            "--dir",
            s(&cache),
            "--mirror",
            "mirror.example",
        ],
        tmp.path(),
        None,
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("\"mirror.example\""),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("hint: "), "{}", stderr(&out));
}

#[test]
fn status_of_an_empty_cache_lists_every_pin_missing_and_exits_3() {
    let tmp = tempfile::tempdir().unwrap();
    let out = zonechaos(&["crds", "status"], tmp.path(), None);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let text = stdout(&out);
    let default = tmp.path().join(".cache/zonechaos/crds");
    assert!(
        text.starts_with(&format!("CRD cache: {}\n", default.display())),
        "{text}"
    );
    assert_eq!(
        text.matches("  missing\n").count(),
        CRD_PINS.len(),
        "{text}"
    );
    assert!(text.contains("0 of 6 verified"), "{text}");
    assert!(
        stderr(&out).contains("zonechaos crds fetch"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn lint_without_a_cache_notes_that_schemas_were_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("vs.yaml");
    std::fs::write(&file, STRING_WEIGHT).unwrap();
    let out = zonechaos(
        &["lint", s(&file)],
        tmp.path(),
        Some(&tmp.path().join("xdg")),
    );
    let text = stdout(&out);
    assert!(text.contains("info[ZC4000]"), "{text}{}", stderr(&out));
    assert!(text.contains("zonechaos crds fetch"), "{text}");
    assert!(!text.contains("ZC4001"), "{text}");
}

#[test]
#[cfg_attr(
    not(zonechaos_shared_crds),
    ignore = "needs the pinned CRDs in ../shared/crds"
)]
fn a_good_mirror_fills_the_cache_and_a_second_fetch_downloads_nothing() {
    let (tmp, mirror) = real_mirror();
    let cache = tmp.path().join("cache");
    let out = fetch(&cache, &mirror, tmp.path());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).matches(": downloaded from file://").count(), 6);
    let expected: Vec<PathBuf> = {
        let mut paths: Vec<PathBuf> = CRD_PINS
            .iter()
            .map(|p| cache.join(p.relative_path()))
            .collect();
        paths.sort();
        paths
    };
    assert_eq!(files_below(&cache), expected, "exactly the pinned files");
    for pin in CRD_PINS {
        let digest = sha256_file(&cache.join(pin.relative_path())).unwrap();
        assert_eq!(digest.as_str(), pin.sha256, "{}", pin.file_name);
    }

    // Without the mirror a download would fail: the second run keeps all.
    std::fs::remove_dir_all(&mirror).unwrap();
    let again = fetch(&cache, &mirror, tmp.path());
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert_eq!(
        stdout(&again).matches(": kept (already verified)").count(),
        6
    );
    assert!(
        stdout(&again).contains("(0 downloaded)"),
        "{}",
        stdout(&again)
    );

    let status = zonechaos(&["crds", "status", "--dir", s(&cache)], tmp.path(), None);
    assert_eq!(code(&status), 0, "{}", stderr(&status));
    assert!(
        stdout(&status).contains("6 of 6 verified"),
        "{}",
        stdout(&status)
    );
}

#[test]
#[cfg_attr(
    not(zonechaos_shared_crds),
    ignore = "needs the pinned CRDs in ../shared/crds"
)]
fn one_altered_file_on_the_mirror_exits_3_and_is_not_cached() {
    let (tmp, mirror) = real_mirror();
    let altered = CRD_PINS.last().unwrap();
    let altered_path = mirror.join(altered.relative_path());
    let mut bytes = std::fs::read(&altered_path).unwrap();
    bytes.extend_from_slice(b"# changed\n");
    std::fs::write(&altered_path, &bytes).unwrap();
    let cache = tmp.path().join("cache");
    let out = fetch(&cache, &mirror, tmp.path());
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(altered.sha256), "{err}");
    assert!(err.contains(Sha256Hex::of(&bytes).as_str()), "{err}");
    assert!(err.contains(altered.file_name), "{err}");
    let cached = files_below(&cache);
    assert_eq!(cached.len(), CRD_PINS.len() - 1, "{cached:?}");
    assert!(
        !cached.iter().any(|p| p.ends_with(altered.file_name)),
        "{cached:?}"
    );
}

#[test]
#[cfg_attr(
    not(zonechaos_shared_crds),
    ignore = "needs the pinned CRDs in ../shared/crds"
)]
fn lint_auto_validates_against_the_fetched_cache_and_refuses_a_tampered_one() {
    let (tmp, mirror) = real_mirror();
    let xdg = tmp.path().join("xdg");
    // No --dir: the default cache under XDG_CACHE_HOME.
    let out = zonechaos(
        &["crds", "fetch", "--mirror", &file_url(&mirror)],
        tmp.path(),
        Some(&xdg),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let cache = xdg.join("zonechaos/crds");
    assert_eq!(files_below(&cache).len(), CRD_PINS.len());

    let file = tmp.path().join("vs.yaml");
    std::fs::write(&file, STRING_WEIGHT).unwrap();
    let lint = zonechaos(&["lint", s(&file)], tmp.path(), Some(&xdg));
    let text = stdout(&lint);
    assert_eq!(code(&lint), 1, "{text}{}", stderr(&lint));
    assert!(text.contains("[ZC4001]"), "{text}");
    assert!(text.contains("weight is a string"), "{text}");
    assert!(!text.contains("ZC4000"), "{text}");

    // --crds none disables the check even with a complete cache.
    let none = zonechaos(
        &["lint", s(&file), "--crds", "none"],
        tmp.path(),
        Some(&xdg),
    );
    assert!(stdout(&none).contains("info[ZC4000]"), "{}", stdout(&none));

    // HOME alone finds ~/.cache/zonechaos/crds.
    let home = tmp.path().join("home");
    std::fs::create_dir_all(home.join(".cache")).unwrap();
    std::fs::rename(xdg.join("zonechaos"), home.join(".cache/zonechaos")).unwrap();
    let lint = zonechaos(&["lint", s(&file)], &home, None);
    assert!(stdout(&lint).contains("[ZC4001]"), "{}", stdout(&lint));

    let tampered = home
        .join(".cache/zonechaos/crds")
        .join(CRD_PINS[0].relative_path());
    std::fs::write(&tampered, "kind: List\n").unwrap();
    let lint = zonechaos(&["lint", s(&file)], &home, None);
    assert_eq!(code(&lint), 3, "{}", stderr(&lint));
    let err = stderr(&lint);
    assert!(err.contains(s(&tampered)), "{err}");
    assert!(err.contains("rerun `zonechaos crds fetch`"), "{err}");

    // fetch replaces the tampered file.
    let out = zonechaos(
        &["crds", "fetch", "--mirror", &file_url(&mirror)],
        &home,
        None,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("replaced"), "{}", stdout(&out));
    let lint = zonechaos(&["lint", s(&file)], &home, None);
    assert!(stdout(&lint).contains("[ZC4001]"), "{}", stdout(&lint));
}
