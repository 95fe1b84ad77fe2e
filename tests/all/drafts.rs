//! `envoi draft` and `envoi edit`: golden fixtures (fixtures/draft, fixtures/edit,
//! fixtures/reply: NAME.args beside NAME.out.eml, and for edit the draft NAME.eml), a round trip
//! through Python's email package, the injection corpus, `--in-place`, the pipe into compose and
//! a 20 MB attachment under a memory bound.

use crate::golden::{case_args, fixtures};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const EPOCH: &str = "1800000000";

/// Runs envoi in `dir` with SOURCE_DATE_EPOCH set, no admin file, and `dir/config.toml` (if
/// any) as the user's file.
fn envoi_in(dir: &Path, args: &[String], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_envoi"));
    cmd.args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env("ENVOI_CONFIG", dir.join("config.toml"))
        .env(
            "ENVOI_ADMIN_CONFIG",
            std::env::temp_dir().join("envoi-drafts-no-such-dir/admin.toml"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("envoi runs");
    let _ = child.stdin.take().expect("stdin").write_all(stdin);
    child.wait_with_output().expect("envoi finishes")
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Every NAME.args in `folder`, sorted.
fn cases(folder: &str) -> Vec<PathBuf> {
    let dir = fixtures().join(folder);
    let mut v: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "args"))
        .collect();
    v.sort();
    v
}

/// Runs each case of `folder` and compares stdout with NAME.out.eml byte for byte; returns how
/// many ran. For `edit`, NAME.eml is the draft operand.
fn golden(folder: &str) -> usize {
    let dir = fixtures().join(folder);
    let mut failures = Vec::new();
    let all = cases(folder);
    for case in &all {
        let mut args = vec![folder.to_owned()];
        args.extend(case_args(case));
        let draft = case.with_extension("eml");
        if folder == "edit" {
            args.push(draft.file_name().unwrap().to_string_lossy().into_owned());
        }
        let out = envoi_in(&dir, &args, b"");
        let expected_path = case.with_extension("out.eml");
        let expected =
            fs::read(&expected_path).unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        if !out.status.success() || out.stdout != expected {
            failures.push(format!(
                "{}: exit {:?}, stderr {}\n--- got\n{}\n--- expected\n{}",
                case.display(),
                out.status.code(),
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&expected)
            ));
        }
        // Same input, same bytes: boundaries included.
        let again = envoi_in(&dir, &args, b"");
        assert_eq!(
            again.stdout,
            out.stdout,
            "{}: not reproducible",
            case.display()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    all.len()
}

#[test]
fn golden_drafts() {
    let n = golden("draft");
    assert!(n >= 7, "only {n} draft cases ran");
}

#[test]
fn golden_edits() {
    let n = golden("edit");
    assert!(n >= 6, "only {n} edit cases ran");
}

#[test]
fn golden_replies_and_forwards() {
    let dir = fixtures().join("reply");
    let n = cases("reply").len();
    assert!(n >= 8, "only {n} reply cases found");
    // `draft --reply ...`: the folder name is not the subcommand here.
    let mut failures = Vec::new();
    for case in cases("reply") {
        let mut args = vec!["draft".to_owned()];
        args.extend(case_args(&case));
        let out = envoi_in(&dir, &args, b"");
        let expected = fs::read(case.with_extension("out.eml")).expect("expected output");
        if !out.status.success() || out.stdout != expected {
            failures.push(format!(
                "{}: exit {:?}, stderr {}\n--- got\n{}",
                case.display(),
                out.status.code(),
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Untouched fields and the body are byte-identical in every edit fixture: each line of the
/// input that the case's edits do not name appears in the output unchanged.
#[test]
fn edits_keep_untouched_bytes() {
    for case in cases("edit") {
        let input = fs::read(case.with_extension("eml")).unwrap();
        let output = fs::read(case.with_extension("out.eml")).unwrap();
        let d_in = envoi::Draft::parse(&input).unwrap();
        let d_out = envoi::Draft::parse(&output).unwrap();
        assert_eq!(d_in.body, d_out.body, "{}: body changed", case.display());
        let args = fs::read_to_string(&case).unwrap().to_ascii_lowercase();
        for f in &d_in.fields {
            let name = f.name().to_ascii_lowercase();
            let touched = args.contains(&format!(" {name}:"))
                || args.contains(&format!("--remove {name}"))
                || args.contains(&format!("--add-{name} "))
                || (args.contains("rcpt") && ["to", "cc", "bcc"].contains(&name.as_str()));
            if !touched {
                assert!(
                    d_out.fields.iter().any(|o| o.raw == f.raw),
                    "{}: field {:?} changed",
                    case.display(),
                    String::from_utf8_lossy(f.raw)
                );
            }
        }
    }
}

fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("/usr/bin/python3")
    }
}

/// A script for Python's email package: prints, as JSON, what an independent parser reads.
const PARSE: &str = r#"
import base64, email, json, sys
from email import policy
m = email.message_from_binary_file(sys.stdin.buffer, policy=policy.default)
out = {"subject": str(m["subject"]), "from": [], "to": [], "cc": [], "bcc": [], "text": None, "html": None, "attachments": []}
for k in ("from", "to", "cc", "bcc"):
    if m[k] is not None:
        out[k] = [[a.display_name, a.addr_spec] for a in m[k].addresses]
body = m.get_body(("plain",))
out["text"] = body.get_content() if body is not None else None
html = m.get_body(("html",))
out["html"] = html.get_content() if html is not None else None
for a in m.iter_attachments():
    out["attachments"].append([a.get_filename(), a.get_content_type(), base64.b64encode(a.get_payload(decode=True)).decode()])
print(json.dumps(out))
"#;

fn parse_with_python(msg: &[u8]) -> serde_json::Value {
    let mut child = Command::new(python())
        .args(["-c", PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child.stdin.take().unwrap().write_all(msg).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from python")
}

#[test]
fn python_reads_back_what_was_given() {
    use base64::Engine;
    let dir = tmp();
    let text = "Grüße aus Köln!\nÄpfel — ½ € ✓\n".repeat(3);
    let html = "<p>Grüße <b>aus</b> Köln</p>\n";
    let blob: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
    fs::write(dir.path().join("body.txt"), &text).unwrap();
    fs::write(dir.path().join("b.html"), html).unwrap();
    fs::write(dir.path().join("Straße März.bin"), &blob).unwrap();
    fs::write(dir.path().join("plain.txt"), "ascii text\n").unwrap();
    let subject = "Grüße aus Köln — ein sehr langer Betreff, der gefaltet werden muss, weil er über 78 Zeichen hat";
    let args = strings(&[
        "draft",
        "--from",
        "Jürgen Müller <juergen@example.org>",
        "--to",
        "\"Doe, Jane\" <jane@example.net>",
        "--to",
        "Zoë Ωmega <zoe@example.com>",
        "--cc",
        "plain@example.com",
        "--bcc",
        "Éve <eve@example.org>",
        "--subject",
        subject,
        "--body",
        "body.txt",
        "--html",
        "b.html",
        "--attach",
        "Straße März.bin",
        "--attach",
        "plain.txt;type=text/plain;name=Übersicht ñandú.txt",
    ]);
    let out = envoi_in(dir.path(), &args, b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = parse_with_python(&out.stdout);
    assert_eq!(v["subject"], subject);
    assert_eq!(
        v["from"],
        serde_json::json!([["Jürgen Müller", "juergen@example.org"]])
    );
    assert_eq!(
        v["to"],
        serde_json::json!([
            ["Doe, Jane", "jane@example.net"],
            ["Zoë Ωmega", "zoe@example.com"]
        ])
    );
    assert_eq!(v["bcc"], serde_json::json!([["Éve", "eve@example.org"]]));
    assert_eq!(v["text"], text);
    assert_eq!(v["html"], html);
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    assert_eq!(
        v["attachments"],
        serde_json::json!([
            ["Straße März.bin", "application/octet-stream", b64(&blob)],
            ["Übersicht ñandú.txt", "text/plain", b64(b"ascii text\n")]
        ])
    );
}

#[test]
fn python_reads_a_forwarded_message_unchanged() {
    let dir = fixtures().join("reply");
    let args = strings(&[
        "draft",
        "--forward",
        "thread-3.eml",
        "--from",
        "me@example.net",
    ]);
    let out = envoi_in(&dir, &args, b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let parent = fs::read_to_string(dir.join("thread-3.eml")).unwrap();
    // The parent's bytes, CRLF already, sit unchanged between the part header and the boundary.
    assert!(text.contains(&format!(
        "Content-Transfer-Encoding: 7bit\r\n\r\n{parent}\r\n--"
    )));
    assert!(!text.contains("base64"));
}

/// Every field of the flags and of the JSON, with a CR, LF or NUL: exit 65, a message naming
/// the field, nothing on stdout, and no file read (the files named do not exist: reading them
/// would exit 66).
#[test]
fn injection_is_refused_for_every_field() {
    let dir = tmp();
    let base = [
        "draft",
        "--from",
        "a@example.org",
        "--to",
        "b@example.net",
        "--body",
        "missing.txt",
    ];
    // A NUL cannot travel in argv (exec refuses it); the JSON cases below cover NUL.
    let bad = [
        "x\r\nBcc: evil@example.com",
        "x\nBcc: evil@example.com",
        "x\rBcc: e@example.com",
    ];
    let flags: &[(&str, &str)] = &[
        ("--from", "from"),
        ("--sender", "sender"),
        ("--to", "to"),
        ("--cc", "cc"),
        ("--bcc", "bcc"),
        ("--reply-to", "reply_to"),
        ("--subject", "subject"),
        ("--header", "header"),
        ("--attach", "attachment 1"),
    ];
    let mut n = 0;
    for (flag, field) in flags {
        for b in bad {
            let value = match *flag {
                "--from" | "--sender" | "--to" | "--cc" | "--bcc" | "--reply-to" => {
                    format!("N <n@example.org>{b}")
                }
                "--header" => format!("X-Tag: {b}"),
                "--attach" => format!("missing.bin;name={b}"),
                _ => b.to_owned(),
            };
            let mut args = strings(&base);
            args.extend([flag.to_string(), value]);
            let out = envoi_in(dir.path(), &args, b"");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(65), "{flag} {b:?}: {err}");
            assert!(out.stdout.is_empty(), "{flag}: wrote to stdout");
            assert!(err.contains(field), "{flag}: {err}");
            n += 1;
        }
    }
    // Custom header names: not ftext, or owned by the pipeline.
    for h in [
        "Bad Name: x",
        "X\u{e9}: x",
        ": x",
        "Date: now",
        "Message-ID: <a@b>",
        "content-type: text/html",
        "To: x@example.org",
    ] {
        let mut args = strings(&base);
        args.extend(["--header".to_owned(), h.to_owned()]);
        let out = envoi_in(dir.path(), &args, b"");
        assert_eq!(
            out.status.code(),
            Some(65),
            "{h}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty());
        n += 1;
    }
    // Every JSON field.
    let json_fields: &[(&str, &str)] = &[
        ("from", r#""from": "a@example.org\r\nBcc: e@example.com""#),
        ("sender", r#""sender": "s@example.org\nX: y""#),
        ("to", r#""to": ["b@example.net\nBcc: e@example.com"]"#),
        ("cc", r#""cc": ["c@example.net\u0000"]"#),
        ("bcc", r#""bcc": ["d@example.net\r"]"#),
        ("reply_to", r#""reply_to": ["r@example.net\n"]"#),
        ("subject", r#""subject": "hi\r\nBcc: e@example.com""#),
        (
            "header X-A",
            r#""headers": {"X-A": "v\r\nBcc: e@example.com"}"#,
        ),
        ("header X\\nB", r#""headers": {"X\nB": "v"}"#),
        (
            "attachment 1 filename",
            r#""attachments": [{"path": "missing.bin", "filename": "a\r\n.bin"}]"#,
        ),
        (
            "attachment 1 content type",
            r#""attachments": [{"path": "missing.bin", "content_type": "text/plain\r\nX: y"}]"#,
        ),
        (
            "attachment 1 path",
            r#""attachments": [{"path": "missing\n.bin"}]"#,
        ),
    ];
    for (field, json) in json_fields {
        let mut doc = format!("{{{json}");
        if !json.starts_with("\"from\"") {
            doc.push_str(r#", "from": "a@example.org""#);
        }
        doc.push('}');
        let out = envoi_in(
            dir.path(),
            &strings(&["draft", "--json", "-", "--body", "missing.txt"]),
            doc.as_bytes(),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(65), "{field}: {err}");
        assert!(out.stdout.is_empty());
        assert!(err.contains(&format!("JSON {field}")), "{field}: {err}");
        n += 1;
    }
    // `envoi edit`: the values, before the draft (which does not exist) is read.
    for args in [
        &[
            "edit",
            "--set",
            "Subject: a\r\nBcc: e@example.com",
            "missing.eml",
        ][..],
        &["edit", "--add", "X-A: a\nb", "missing.eml"],
        &["edit", "--add", "Bad Name: a", "missing.eml"],
        &["edit", "--set", "Date: now", "missing.eml"],
        &[
            "edit",
            "--add-to",
            "x@example.org\nBcc: e@example.com",
            "missing.eml",
        ],
        &["edit", "--add-cc", "x@example.org\r", "missing.eml"],
        &["edit", "--add-bcc", "x@example.org\r\n", "missing.eml"],
        &["edit", "--remove-rcpt", "x@example.org\n", "missing.eml"],
        &["edit", "--remove", "X\nY", "missing.eml"],
    ] {
        let out = envoi_in(dir.path(), &strings(args), b"");
        assert_eq!(
            out.status.code(),
            Some(65),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty());
        n += 1;
    }
    assert!(n > 50, "only {n} injection cases");
}

#[test]
fn files_that_cannot_be_read_exit_66() {
    let dir = tmp();
    for args in [
        &["draft", "--from", "a@example.org", "--body", "missing.txt"][..],
        &[
            "draft",
            "--from",
            "a@example.org",
            "--attach",
            "missing.bin",
        ],
        &["draft", "--from", "a@example.org", "--reply", "missing.eml"],
        &["draft", "--json", "missing.json"],
        &["edit", "--add", "X-A: 1", "missing.eml"],
    ] {
        let out = envoi_in(dir.path(), &strings(args), b"");
        assert_eq!(
            out.status.code(),
            Some(66),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty());
    }
    let out = envoi_in(
        dir.path(),
        &strings(&["draft", "--to", "b@example.net"]),
        b"",
    );
    assert_eq!(out.status.code(), Some(64), "no From");
}

#[test]
fn in_place_replaces_atomically_and_keeps_the_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tmp();
    let p = dir.path().join("d.eml");
    fs::write(
        &p,
        "From: a@example.org\nTo: b@example.net\nSubject: old\n\nbody\n",
    )
    .unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
    let out = envoi_in(
        dir.path(),
        &strings(&["edit", "--in-place", "--set", "Subject: new", "d.eml"]),
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    assert_eq!(
        fs::read_to_string(&p).unwrap(),
        "From: a@example.org\nTo: b@example.net\nSubject: new\n\nbody\n"
    );
    assert_eq!(
        fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "a temporary file was left behind");
    // A failed edit leaves the file as it was.
    let before = fs::read(&p).unwrap();
    let out = envoi_in(
        dir.path(),
        &strings(&["edit", "--in-place", "--add-to", "not an address", "d.eml"]),
        b"",
    );
    assert_eq!(out.status.code(), Some(65));
    assert_eq!(fs::read(&p).unwrap(), before);
}

/// `envoi draft ... | envoi compose -`: the draft keeps Bcc, compose removes it and puts the
/// address in the envelope.
#[test]
fn a_built_draft_pipes_into_compose() {
    let dir = tmp();
    let draft = envoi_in(
        dir.path(),
        &strings(&[
            "draft",
            "--from",
            "Ann <ann@example.org>",
            "--to",
            "bob@example.net",
            "--bcc",
            "Secret <secret@example.com>",
            "--subject",
            "Grüße",
        ]),
        b"",
    );
    assert!(draft.status.success());
    let text = String::from_utf8_lossy(&draft.stdout);
    assert!(
        text.contains("\r\nBcc: \"Secret\" <secret@example.com>\r\n"),
        "{text}"
    );
    assert!(
        !text.contains("Date:") && !text.contains("Message-ID:"),
        "{text}"
    );
    let composed = envoi_in(dir.path(), &strings(&["compose", "-"]), &draft.stdout);
    assert!(
        composed.status.success(),
        "{}",
        String::from_utf8_lossy(&composed.stderr)
    );
    let msg = String::from_utf8_lossy(&composed.stdout);
    assert!(!msg.contains("secret@"), "{msg}");
    assert!(
        msg.contains("\r\nMessage-ID: <") && msg.contains("\r\nDate: "),
        "{msg}"
    );
    let env = envoi_in(
        dir.path(),
        &strings(&["envelope", "--json", "-"]),
        &draft.stdout,
    );
    let v: serde_json::Value = serde_json::from_slice(&env.stdout).expect("envelope JSON");
    assert_eq!(
        v["to"],
        serde_json::json!(["bob@example.net", "secret@example.com"])
    );
}

/// A 20 MB attachment: the draft decodes to the same bytes, and the process's peak RSS grows by
/// about the file's size over a run with a tiny attachment (measured by Python's getrusage on
/// the child): the file is held once, the encoded output streams.
#[test]
fn twenty_megabytes_with_bounded_memory() {
    let dir = tmp();
    let big: Vec<u8> = (0..20u32 * 1024 * 1024)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(dir.path().join("big.bin"), &big).unwrap();
    fs::write(dir.path().join("small.bin"), b"tiny").unwrap();
    let script = r#"
import email, hashlib, resource, subprocess, sys
from email import policy
p = subprocess.run(sys.argv[1:], capture_output=True)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
assert p.returncode == 0, p.stderr
m = email.message_from_bytes(p.stdout, policy=policy.default)
a = next(m.iter_attachments())
print(rss, hashlib.sha256(a.get_payload(decode=True)).hexdigest(), max(len(l) for l in p.stdout.split(b"\r\n")))
"#;
    let run = |file: &str| -> (u64, String, usize) {
        let out = Command::new(python())
            .current_dir(dir.path())
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .args([
                "-c",
                script,
                env!("CARGO_BIN_EXE_envoi"),
                "draft",
                "--from",
                "a@example.org",
                "--to",
                "b@example.net",
                "--attach",
                file,
            ])
            .output()
            .expect("python runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8(out.stdout).unwrap();
        let mut it = line.split_whitespace();
        (
            it.next().unwrap().parse().unwrap(),
            it.next().unwrap().to_owned(),
            it.next().unwrap().parse().unwrap(),
        )
    };
    let (base_kib, _, _) = run("small.bin");
    let (rss_kib, sha, longest) = run("big.bin");
    let expected = {
        let mut c = Command::new(python())
            .args([
                "-c",
                "import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(&big).unwrap();
        String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap()
    };
    assert_eq!(sha, expected.trim(), "the attachment's bytes changed");
    assert!(longest <= 998, "a line of {longest} octets");
    eprintln!("peak RSS: {rss_kib} KiB with a 20 MiB attachment, {base_kib} KiB with a tiny one");
    // The file once (20 MiB) plus buffers; its base64 form (27 MiB) is never held.
    let grown = rss_kib.saturating_sub(base_kib);
    assert!(
        grown < 24 * 1024,
        "peak RSS grew by {grown} KiB for a 20 MiB file"
    );
}

#[test]
fn edit_reads_stdin_without_an_operand() {
    let dir = tmp();
    let out = envoi_in(
        dir.path(),
        &strings(&["edit", "--add-cc", "c@example.org"]),
        b"To: a@example.org\n\nbody\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.stdout,
        b"To: a@example.org\nCc: <c@example.org>\n\nbody\n"
    );
    let out = envoi_in(
        dir.path(),
        &strings(&["edit", "--in-place", "--add-cc", "c@example.org"]),
        b"",
    );
    assert_eq!(out.status.code(), Some(64), "--in-place needs a file");
}

/// docs/draft.schema.json names exactly the fields `envoi draft --json` accepts.
#[test]
fn the_schema_names_the_accepted_fields() {
    let schema: serde_json::Value = serde_json::from_slice(
        &fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/draft.schema.json")).unwrap(),
    )
    .unwrap();
    let mut documented: Vec<String> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    documented.sort();
    // serde lists what it expects when it meets an unknown field.
    let out = envoi_in(
        tmp().path(),
        &strings(&["draft", "--json", "-"]),
        br#"{"no_such_field": 1}"#,
    );
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8_lossy(&out.stderr);
    let expected = err.split("expected one of ").nth(1).expect("serde's list");
    let mut accepted: Vec<String> = expected
        .split(", ")
        .map(|f| f.split('`').nth(1).unwrap_or("").to_owned())
        .collect();
    accepted.sort();
    assert_eq!(documented, accepted);
    let attachment = schema["properties"]["attachments"]["items"]["properties"]
        .as_object()
        .unwrap();
    for k in ["path", "content_base64", "filename", "content_type"] {
        assert!(attachment.contains_key(k), "{k}");
    }
}
