//! The library's dependency tree: a mail client that takes `default-features = false` gets no
//! crate of the CLI's (argument parsing, progress bars, terminal handling, allocator).

use std::process::Command;

/// Crates that only a command line needs. Any of them in the library's normal dependency tree
/// means a feature gate was lost.
const CLI_ONLY: &[&str] = &[
    "clap",
    "clap_builder",
    "clap_derive",
    "indicatif",
    "console",
    "anstream",
    "anstyle",
    "colorchoice",
    "terminal_size",
    "is-terminal",
    "is_terminal_polyfill",
    "number_prefix",
    "mimalloc",
    "libmimalloc-sys",
];

fn tree(args: &[&str]) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-p",
            "envoi",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn library_without_default_features_has_no_cli_crates() {
    let lib = tree(&["--no-default-features"]);
    assert!(
        lib.iter().any(|n| n == "chrono"),
        "not the tree expected: {lib:?}"
    );
    let found: Vec<&String> = lib
        .iter()
        .filter(|n| CLI_ONLY.contains(&n.as_str()))
        .collect();
    assert!(
        found.is_empty(),
        "CLI crates in the library's tree: {found:?}"
    );
}

/// The check above could pass vacuously if the names were wrong: the default features (the
/// binary) do pull the CLI crates.
#[test]
fn default_features_do_pull_the_cli_crates() {
    let all = tree(&[]);
    for name in ["clap", "indicatif"] {
        assert!(all.iter().any(|n| n == name), "{name} missing from {all:?}");
    }
}
