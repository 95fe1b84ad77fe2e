//! The real `envoi` binary: exit codes (sysexits), `--out-dir`, `envelope --json`, `check`,
//! reproducibility under SOURCE_DATE_EPOCH and unique ids without it, and no partial output.

use crate::golden::{case_args, drafts, fixtures};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const EPOCH: &str = "1800000000";

/// Runs envoi with SOURCE_DATE_EPOCH set (unless `epoch` is None), feeding `stdin`. Both
/// configuration files point at paths that do not exist, so that the developer's own
/// configuration cannot change the results.
fn run(args: &[&str], stdin: &[u8], epoch: Option<&str>) -> Output {
    let none = std::env::temp_dir().join("envoi-cli-tests-no-such-dir/config.toml");
    run_with_config(args, stdin, epoch, &none)
}

/// Like [`run`], with `user_config` as the user's configuration file.
fn run_with_config(args: &[&str], stdin: &[u8], epoch: Option<&str>, user_config: &Path) -> Output {
    let none = std::env::temp_dir().join("envoi-cli-tests-no-such-dir/admin.toml");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_envoi"));
    cmd.args(args)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("ENVOI_CONFIG", user_config)
        .env("ENVOI_ADMIN_CONFIG", none)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(e) = epoch {
        cmd.env("SOURCE_DATE_EPOCH", e);
    }
    let mut child = cmd.spawn().expect("envoi runs");
    // A closed pipe just means envoi did not read stdin.
    let _ = child.stdin.take().expect("stdin").write_all(stdin);
    child.wait_with_output().expect("envoi finishes")
}

fn envoi(args: &[&str]) -> Output {
    run(args, b"", Some(EPOCH))
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn fixture(rel: &str) -> String {
    fixtures().join(rel).to_str().unwrap().to_owned()
}

const GOOD: &[u8] = b"From: a@x.example\nTo: b@y.example\nBcc: c@z.example\nSubject: hi\n\nHello\n";

#[test]
fn compose_to_stdout_matches_the_golden_output() {
    let o = envoi(&["compose", &fixture("compose/basic-lf.eml")]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        o.stdout,
        fs::read(fixture("compose/basic-lf.out.eml")).unwrap()
    );
    assert!(o.stderr.is_empty());
}

#[test]
fn stdin_is_read_for_dash_and_for_no_path() {
    let a = run(&["compose", "-"], GOOD, Some(EPOCH));
    let b = run(&["compose"], GOOD, Some(EPOCH));
    assert_eq!(code(&a), 0, "{}", stderr(&a));
    assert_eq!(a.stdout, b.stdout);
    let text = String::from_utf8(a.stdout).unwrap();
    assert!(text.starts_with("From: a@x.example\r\nTo: b@y.example\r\nSubject: hi\r\n"));
    assert!(!text.contains("c@z.example"));
}

#[test]
fn exit_codes_follow_sysexits() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.eml");
    let cases: [(&[&str], &[u8], i32); 9] = [
        (&["compose"], GOOD, 0),
        (&["envelope"], GOOD, 0),
        (&["compose", "--bcc-policy", "hide"], GOOD, 64),
        (&["compose", "--no-such-flag"], GOOD, 64),
        (&["compose", "--from", "not an address"], GOOD, 64),
        (&["compose", "--date", "yesterday"], GOOD, 64),
        (&["compose"], b"From: a@x.example\nTo: b@\n\n", 65),
        (&["compose"], b"To: b@y.example\n\nno From\n", 65),
        (&["compose", path(&missing)], b"", 66),
    ];
    for (args, input, want) in cases {
        let o = run(args, input, Some(EPOCH));
        assert_eq!(code(&o), want, "envoi {args:?}: {}", stderr(&o));
        if want != 0 {
            assert!(o.stdout.is_empty(), "envoi {args:?} wrote to stdout");
            assert!(!o.stderr.is_empty(), "envoi {args:?} said nothing");
        }
    }
    // Two drafts and a policy that makes two submissions cannot share stdout: usage errors.
    let two = envoi(&[
        "compose",
        &fixture("compose/basic-lf.eml"),
        &fixture("compose/basic-crlf.eml"),
    ]);
    assert_eq!(code(&two), 64);
    let split = envoi(&[
        "compose",
        "--bcc-policy",
        "split",
        &fixture("compose/policy-split.eml"),
    ]);
    assert_eq!(code(&split), 64, "{}", stderr(&split));
    assert!(split.stdout.is_empty());
}

#[test]
fn a_bad_draft_says_what_and_where_and_writes_nothing() {
    let draft = fixture("errors/stray-line.eml");
    let o = envoi(&["compose", &draft]);
    assert_eq!(code(&o), 65);
    assert!(o.stdout.is_empty());
    let want = fs::read_to_string(fixture("errors/stray-line.error")).unwrap();
    assert_eq!(stderr(&o), format!("envoi: {draft}: {want}"));
}

#[test]
fn out_dir_composes_many_drafts_in_one_process() {
    // Every golden case without options, in one run; each output must equal its golden file.
    let cases: Vec<_> = drafts("compose")
        .into_iter()
        .filter(|d| case_args(d).is_empty())
        .collect();
    assert!(cases.len() >= 20, "only {} plain cases", cases.len());
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["compose", "--out-dir", path(dir.path())];
    args.extend(cases.iter().map(|c| path(c)));
    let o = envoi(&args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let mut written = 0;
    for case in &cases {
        let stem = case.file_stem().unwrap().to_str().unwrap();
        let got = fs::read(dir.path().join(format!("{stem}.eml"))).unwrap();
        assert_eq!(
            got,
            fs::read(case.with_extension("out.eml")).unwrap(),
            "{stem}"
        );
        let env = fs::read_to_string(dir.path().join(format!("{stem}.envelope.json"))).unwrap();
        let want = fs::read_to_string(case.with_extension("envelope.jsonl")).unwrap();
        assert_eq!(env, want, "{stem}");
        written += 2;
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), written);
}

#[test]
fn out_dir_numbers_the_submissions_of_a_split() {
    let dir = tempfile::tempdir().unwrap();
    let draft = fixture("compose/policy-split-each.eml");
    let o = envoi(&[
        "compose",
        "--bcc-policy",
        "split-each",
        "--out-dir",
        path(dir.path()),
        &draft,
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let want_env = fs::read_to_string(fixture("compose/policy-split-each.envelope.jsonl")).unwrap();
    let want_env: Vec<&str> = want_env.lines().collect();
    assert_eq!(want_env.len(), 3);
    for i in 1..=3 {
        let got = fs::read(dir.path().join(format!("policy-split-each.{i}.eml"))).unwrap();
        let want = fs::read(fixture(&format!("compose/policy-split-each.out.{i}.eml"))).unwrap();
        assert_eq!(got, want, "submission {i}");
        let env = fs::read_to_string(
            dir.path()
                .join(format!("policy-split-each.{i}.envelope.json")),
        )
        .unwrap();
        assert_eq!(env.trim_end(), want_env[i - 1]);
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 6);
}

#[test]
fn out_dir_skips_a_bad_draft_entirely_and_exits_65() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let bad = fixture("errors/body-line-too-long.eml");
    let good = fixture("compose/basic-lf.eml");
    let o = envoi(&["compose", "--out-dir", path(&out), &bad, &good]);
    assert_eq!(code(&o), 65);
    assert!(
        stderr(&o).contains("line 5: the line is 999 octets long"),
        "{}",
        stderr(&o)
    );
    let mut names: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["basic-lf.eml", "basic-lf.envelope.json"]);
}

/// A write that fails part-way (here the file-size limit, `ulimit -f`, with SIGXFSZ ignored so
/// that `write` returns EFBIG) exits 74 naming the file, and leaves no part of it behind.
#[test]
fn out_dir_removes_a_file_whose_write_failed() {
    let dir = tempfile::tempdir().unwrap();
    let draft = dir.path().join("big.eml");
    let mut text = String::from_utf8(GOOD.to_vec()).unwrap();
    text.push_str(&"A body line of some length, repeated.\n".repeat(200));
    fs::write(&draft, text).unwrap();
    let out = dir.path().join("out");
    // 2 blocks of 512 bytes (POSIX sh counts `ulimit -f` in 512-byte blocks): the 8 KB message
    // is cut short, while the 100-byte envelope of a small draft would fit.
    let o = Command::new("sh")
        .args(["-c", "trap '' XFSZ; ulimit -f 2; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_envoi"))
        .args(["compose", "--out-dir", path(&out), path(&draft)])
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .output()
        .unwrap();
    assert_eq!(code(&o), 74, "{}", stderr(&o));
    let file = out.join("big.eml");
    assert!(
        stderr(&o).contains(&format!("cannot write {}: ", file.display())),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0, "{}", stderr(&o));
}

#[test]
fn envelope_json_is_one_object_per_submission() {
    for case in ["policy-split-each", "smtputf8", "resent", "duplicates"] {
        let draft = fixtures().join(format!("compose/{case}.eml"));
        let args = case_args(&draft);
        let mut argv = vec!["envelope", "--json"];
        argv.extend(args.iter().map(String::as_str));
        argv.push(path(&draft));
        let o = envoi(&argv);
        assert_eq!(code(&o), 0, "{case}: {}", stderr(&o));
        let want = fs::read_to_string(draft.with_extension("envelope.jsonl")).unwrap();
        assert_eq!(String::from_utf8(o.stdout).unwrap(), want, "{case}");
    }
    // The plain form is SMTP commands.
    let o = run(
        &["envelope", "--from", "bounce@x.example"],
        GOOD,
        Some(EPOCH),
    );
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "MAIL FROM:<bounce@x.example>\nRCPT TO:<b@y.example>\nRCPT TO:<c@z.example>\n"
    );
}

#[test]
fn check_reports_findings_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let draft = dir.path().join("d.eml");
    fs::write(
        &draft,
        "From: a@x.example\nTo: b@y.example\nCc:\nTo: c@y.example\nBcc: d@\n\nbody\n",
    )
    .unwrap();
    let clean = dir.path().join("clean.eml");
    fs::write(&clean, GOOD).unwrap();
    let o = envoi(&["check", path(&clean), path(&draft)]);
    assert_eq!(code(&o), 65);
    let p = path(&draft);
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        format!(
            "{p}:3: warning: Cc is empty; RFC 5322 §3.6.3 wants an address (or `undisclosed-recipients:;`)\n\
             {p}:4: warning: To appears again (first at line 2); RFC 5322 §3.6 allows it once (envoi uses every address in the envelope)\n\
             {p}:5: Bcc: `d@` has no domain after `@`\n"
        )
    );
    let o = envoi(&["check", path(&clean)]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    assert!(o.stdout.is_empty());
    let o = envoi(&["check", &fixture("errors/stray-line.eml")]);
    assert_eq!(code(&o), 65);
    assert!(
        String::from_utf8(o.stdout)
            .unwrap()
            .contains("stray-line.eml:3: `This line is not a header`")
    );
}

#[test]
fn source_date_epoch_gives_identical_bytes_and_without_it_ids_differ() {
    let a = run(&["compose"], GOOD, Some(EPOCH));
    let b = run(&["compose"], GOOD, Some(EPOCH));
    assert_eq!(code(&a), 0);
    assert_eq!(a.stdout, b.stdout);
    let text = String::from_utf8(a.stdout.clone()).unwrap();
    assert!(
        text.contains("\r\nDate: Fri, 15 Jan 2027 08:00:00 +0000\r\n"),
        "{text}"
    );

    let id = |o: &Output| {
        let t = String::from_utf8(o.stdout.clone()).unwrap();
        t.lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .expect("a Message-ID")
            .trim_end()
            .to_owned()
    };
    let c = run(&["compose"], GOOD, None);
    let d = run(&["compose"], GOOD, None);
    assert_eq!(code(&c), 0, "{}", stderr(&c));
    assert_ne!(id(&c), id(&d));
    assert_ne!(id(&c), id(&a));
    assert!(id(&c).ends_with("@x.example>"), "{}", id(&c));
    // Many drafts in one process never share an id either.
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for i in 0..5 {
        let p = dir.path().join(format!("d{i}.eml"));
        fs::write(&p, GOOD).unwrap();
        paths.push(p);
    }
    let out = dir.path().join("out");
    let mut args = vec!["compose", "--out-dir", path(&out)];
    args.extend(paths.iter().map(|p| path(p)));
    let o = run(&args, b"", None);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mut ids: Vec<String> = (0..5)
        .map(|i| {
            let t = fs::read_to_string(out.join(format!("d{i}.eml"))).unwrap();
            t.lines()
                .find_map(|l| l.strip_prefix("Message-ID: "))
                .unwrap()
                .to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5);
}

#[test]
fn a_bad_source_date_epoch_is_a_usage_error() {
    let o = run(&["compose"], GOOD, Some("soon"));
    assert_eq!(code(&o), 64);
    assert!(o.stdout.is_empty());
    // Year 10000 and later cannot be written in a Date field (chrono used to panic on it).
    let o = run(&["compose"], GOOD, Some("253402300800"));
    assert_eq!(code(&o), 64, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("outside the years 0000 to 9999"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
    let o = run(&["compose"], GOOD, Some("253402300799"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Date: Fri, 31 Dec 9999 23:59:59 +0000\r\n")
    );
}

/// `compose` and `envelope` start from the configuration's `[compose]` table, as `send` does,
/// so they show exactly what would be submitted; flags still win over it.
#[test]
fn compose_and_envelope_honour_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    fs::write(
        &config,
        "[compose]\nbcc_policy = \"split\"\nid_domain = \"ids.example\"\n",
    )
    .unwrap();
    let env = |args: &[&str]| run_with_config(args, GOOD, Some(EPOCH), &config);
    let o = env(&["envelope", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "{\"from\":\"a@x.example\",\"to\":[\"b@y.example\"],\"smtputf8\":false}\n\
         {\"from\":\"a@x.example\",\"to\":[\"c@z.example\"],\"smtputf8\":false}\n"
    );
    let o = env(&["compose", "--bcc-policy", "remove"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("@ids.example>\r\n"), "{text}");
    assert!(!text.contains("c@z.example"), "{text}");
    // Without the file, the defaults: one submission, the From domain in the Message-ID.
    let o = run(&["envelope", "--json"], GOOD, Some(EPOCH));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1);
    let o = run(&["compose"], GOOD, Some(EPOCH));
    assert!(String::from_utf8_lossy(&o.stdout).contains("@x.example>\r\n"));
    // A broken file is a configuration error (78), not silently ignored.
    fs::write(&config, "[compose]\nbcc_polcy = \"split\"\n").unwrap();
    let o = env(&["compose"]);
    assert_eq!(code(&o), 78, "{}", stderr(&o));
    assert!(stderr(&o).contains("bcc_polcy"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}
