//! Files that may hold a Bcc field are private: a `split` Bcc copy written by `compose --out-dir`
//! and by the file relay is 0600, in a directory created 0700, whatever the umask lets through.

use super::draft;
use super::harness::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Runs `envoi ARGS` under umask 022, where a file created 0666 would be world-readable.
fn envoi_umask_022(sb: &Sandbox, args: &[&str]) -> Run {
    let mut c = sb.command("sh");
    c.args(["-c", "umask 022; exec \"$0\" \"$@\"", ENVOI])
        .args(args);
    run(c, None)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// The files of `dir`, each checked to be 0600; returns (the message holding the Bcc field,
/// its envelope, the other message, its envelope).
#[track_caller]
fn split_pair(dir: &Path) -> [String; 4] {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 4, "two submissions, two files each: {files:?}");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{}", f.display());
    }
    let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap();
    let emls: Vec<&PathBuf> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(emls.len(), 2);
    let (bcc, other) = match read(emls[0]).contains("dave.hidden") {
        true => (emls[0], emls[1]),
        false => (emls[1], emls[0]),
    };
    let env = |eml: &PathBuf| read(&eml.with_extension("envelope.json"));
    [read(bcc), env(bcc), read(other), env(other)]
}

#[track_caller]
fn assert_split_contents([bcc, bcc_env, other, other_env]: [String; 4]) {
    assert_eq!(
        header(&bcc, "Bcc").as_deref(),
        Some("Dave Hidden <dave.hidden@z.example>"),
        "the Bcc copy keeps its field: {bcc}"
    );
    assert!(!other.contains("dave.hidden"), "{other}");
    assert_eq!(
        bcc_env.trim_end(),
        r#"{"from":"alice@x.example","to":["dave.hidden@z.example"],"smtputf8":false}"#
    );
    assert_eq!(
        other_env.trim_end(),
        r#"{"from":"alice@x.example","to":["bob@y.example","carol@y.example"],"smtputf8":false}"#
    );
    for m in [&bcc, &other] {
        assert_crlf(m);
        assert!(m.contains("\r\nSubject: split\r\n"), "{m}");
    }
}

#[test]
fn out_dir_writes_a_split_bcc_copy_privately() {
    let sb = Sandbox::new();
    let d = sb.draft("d.eml", &draft("split"));
    let out = sb.path("out/batch");
    let run = envoi_umask_022(
        &sb,
        &[
            "compose",
            "--bcc-policy",
            "split",
            "--out-dir",
            out.to_str().unwrap(),
            d.to_str().unwrap(),
        ],
    );
    run.assert_ok();
    assert_eq!(mode(&out), 0o700);
    assert_eq!(
        mode(&sb.path("out")),
        0o700,
        "parents created too are private"
    );
    assert_split_contents(split_pair(&out));
}

#[test]
fn file_relay_writes_a_split_bcc_copy_privately() {
    let sb = Sandbox::new();
    let spool = sb.path("spool/new");
    sb.relay(
        &format!("kind = \"file\"\ndir = {}\n", toml_path(&spool)),
        "",
    );
    let d = sb.draft("d.eml", &draft("split"));
    let run = envoi_umask_022(&sb, &["send", "--bcc-policy", "split", d.to_str().unwrap()]);
    run.assert_ok();
    assert_eq!(run.accepted().len(), 2, "{run:#?}");
    assert_eq!(mode(&spool), 0o700);
    assert_split_contents(split_pair(&spool));
}
