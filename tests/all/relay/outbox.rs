//! The durable outbox against aiosmtpd: `send` and `sendmail` queue what a relay that is down
//! (nothing listening on its port) did not take, `queue flush` delivers each message exactly
//! once, concurrent flushes and flushes killed with SIGKILL lose and duplicate nothing, a 5xx and
//! an expired lifetime move a message to failed/, and an unwritable outbox is exit 74.

use super::draft;
use super::harness::*;
use serde_json::Value;
use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

/// A sandbox whose relay is a port with nothing listening on it: every attempt is refused (75).
fn relay_down() -> Sandbox {
    let sb = Sandbox::new();
    sb.relay(&sb.smtp_relay(free_port(), Tls::None), "");
    sb
}

/// `queue list --json` (or `--failed`), parsed.
fn listed(sb: &Sandbox, failed: bool) -> Vec<Value> {
    let mut args = vec!["queue", "list", "--json"];
    if failed {
        args.push("--failed");
    }
    let run = sb.envoi(&args, None);
    run.assert_ok();
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

/// How many times the server received each Message-ID.
fn received_ids(servers: &[&Smtpd]) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for s in servers {
        for m in s.messages() {
            *n.entry(m.header("Message-ID").expect("a Message-ID"))
                .or_default() += 1;
        }
    }
    n
}

/// Queues `n` drafts through `send` with the relay down; returns their Message-IDs as queued.
/// `envoi queue flush` started in the background; its output goes to `out` (null or piped).
fn spawn_flush(sb: &Sandbox, out: fn() -> Stdio) -> std::process::Child {
    let mut c = sb.command(ENVOI);
    c.args(["queue", "flush"]).stdout(out()).stderr(out());
    c.spawn().unwrap()
}

fn queue_drafts(sb: &Sandbox, n: usize) -> Vec<String> {
    let drafts: Vec<String> = (0..n)
        .map(|i| {
            sb.draft(&format!("d{i}.eml"), &draft(&unique("queued")))
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut args = vec!["send"];
    args.extend(drafts.iter().map(String::as_str));
    let run = sb.envoi(&args, None);
    run.assert_code(75);
    assert!(run.stderr.contains("envoi queue flush"), "{run:#?}");
    let q = listed(sb, false);
    assert_eq!(q.len(), n, "{run:#?}");
    q.iter()
        .map(|e| {
            let id = e["id"].as_str().unwrap();
            let msg = sb.envoi(&["queue", "show", id], None);
            msg.assert_ok();
            header(&msg.stdout, "Message-ID").unwrap()
        })
        .collect()
}

#[test]
fn relay_down_send_queues_exact_bytes_and_a_flush_delivers_each_once() {
    let sb = relay_down();
    let text = draft(&unique("down"));
    let path = sb.draft("d.eml", &text);
    let run = sb.envoi(&["send", path.to_str().unwrap()], None);
    run.assert_code(75);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "draft untouched"
    );
    let q = listed(&sb, false);
    assert_eq!(q.len(), 1, "{run:#?}");
    let e = &q[0];
    assert_eq!(e["from"], "alice@x.example");
    assert_eq!(e["attempts"], 1);
    assert!(
        e["last_error"].as_str().unwrap().contains("127.0.0.1"),
        "{e}"
    );
    assert_eq!(e["queued_at"], e["next_attempt"], "due at once");
    let id = e["id"].as_str().unwrap();
    // The bytes queued are the composed message, as show prints them and as stored.
    let eml = sb.outbox().join(format!("{id}.eml"));
    let queued = std::fs::read(&eml).unwrap();
    assert!(
        run.stderr.contains(eml.to_str().unwrap()),
        "says where: {run:#?}"
    );
    let shown = sb.envoi(&["queue", "show", id], None);
    assert_eq!(shown.stdout.as_bytes(), queued);

    let server = Smtpd::builder().start();
    sb.relay(&sb.smtp_relay(server.port, Tls::None), "");
    let flush = sb.envoi(&["queue", "flush"], None);
    flush.assert_ok();
    let got = server.messages();
    assert_eq!(got.len(), 1, "{flush:#?}");
    assert_eq!(got[0].content.as_bytes(), queued, "the exact bytes queued");
    assert_eq!(sorted(&got[0].rcpt_tos), sorted(&super::DRAFT_RCPTS));
    assert!(listed(&sb, false).is_empty());
    // A second flush sends nothing again.
    sb.envoi(&["queue", "flush", "--all"], None).assert_ok();
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn n_drafts_queued_then_each_received_once_with_its_message_id() {
    let sb = relay_down();
    let ids = queue_drafts(&sb, 5);
    let server = Smtpd::builder().start();
    sb.relay(&sb.smtp_relay(server.port, Tls::None), "");
    let flush = sb.envoi(&["queue", "flush"], None);
    flush.assert_ok();
    assert_eq!(flush.accepted().len(), 5, "{flush:#?}");
    let got = received_ids(&[&server]);
    for id in &ids {
        assert_eq!(got.get(id), Some(&1), "{id} in {got:?}");
    }
    assert_eq!(got.len(), 5);
    assert_eq!(
        server.connections(),
        1,
        "one connection for the whole flush"
    );
}

#[test]
fn two_flushes_at_once_deliver_each_message_once() {
    let sb = relay_down();
    let ids = queue_drafts(&sb, 12);
    let server = Smtpd::builder().start();
    sb.relay(&sb.smtp_relay(server.port, Tls::None), "");
    let (a, b) = (
        spawn_flush(&sb, Stdio::piped),
        spawn_flush(&sb, Stdio::piped),
    );
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for o in [&a, &b] {
        // 75 when the other flush still held a message as this one finished.
        assert!(matches!(o.status.code(), Some(0 | 75)), "{o:?}");
    }
    let got = received_ids(&[&server]);
    for id in &ids {
        assert_eq!(got.get(id), Some(&1), "{id} in {got:?}");
    }
    assert_eq!(got.len(), 12);
    assert!(listed(&sb, false).is_empty());
}

#[test]
fn a_flush_killed_in_data_loses_nothing_and_leaves_no_lock() {
    let sb = relay_down();
    let ids = queue_drafts(&sb, 3);
    // The first message is accepted, the second stalls at the end of DATA: kill the flush there.
    let stalling = Smtpd::builder().fault("stall-data", 1).start();
    sb.relay(&sb.smtp_relay(stalling.port, Tls::None), "");
    let mut child = spawn_flush(&sb, Stdio::null);
    wait_until("the first message", Duration::from_secs(20), || {
        (stalling.messages().len() == 1).then_some(())
    });
    std::thread::sleep(Duration::from_millis(300)); // into the stalled DATA
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(
        listed(&sb, false).len(),
        2,
        "the accepted one left, the rest stay"
    );

    let server = Smtpd::builder().start();
    sb.relay(&sb.smtp_relay(server.port, Tls::None), "");
    sb.envoi(&["queue", "flush"], None).assert_ok(); // no lock left to stop it
    let got = received_ids(&[&stalling, &server]);
    for id in &ids {
        assert_eq!(got.get(id), Some(&1), "{id} in {got:?}");
    }
    assert!(sb.outbox_files().is_empty(), "{:?}", sb.outbox_files());
}

#[test]
fn flushes_killed_at_random_points_lose_nothing() {
    let sb = relay_down();
    let ids = queue_drafts(&sb, 40);
    let server = Smtpd::builder().start();
    sb.relay(&sb.smtp_relay(server.port, Tls::None), "");
    let mut kills = 0;
    // A cheap pseudo-random sequence of delays (0..60 ms), different on every run.
    let mut x = u64::from(std::process::id()) | 1;
    for _ in 0..6 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut child = spawn_flush(&sb, Stdio::null);
        std::thread::sleep(Duration::from_millis(x % 60));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills > 0, "no flush was killed: the test proved nothing");
    let before = server.messages().len();
    sb.envoi(&["queue", "flush", "--all"], None).assert_ok();
    let got = received_ids(&[&server]);
    eprintln!("{kills} kills; {before} received before the last flush");
    for id in &ids {
        let n = got.get(id).copied().unwrap_or(0);
        assert!(n >= 1, "{id} lost: {got:?}");
    }
    // Only a kill between the server's reply and the removal can send one twice.
    let extra: usize = got.values().map(|n| n - 1).sum();
    assert!(
        extra <= kills,
        "{extra} duplicates after {kills} kills: {got:?}"
    );
    assert!(listed(&sb, false).is_empty());
}

#[test]
fn a_5xx_goes_to_failed_with_the_reason_and_retry_queues_it_again() {
    let server = Smtpd::builder().refuse("nobody@y.example").start();
    let sb = Sandbox::for_smtpd(&server);
    let path = sb.draft(
        "d.eml",
        "From: alice@x.example\nTo: nobody@y.example\nSubject: refused\n\nHi\n",
    );
    let run = sb.envoi(&["send", path.to_str().unwrap()], None);
    run.assert_code(69);
    assert!(listed(&sb, false).is_empty());
    let failed = listed(&sb, true);
    assert_eq!(failed.len(), 1, "{run:#?}");
    assert!(
        failed[0]["last_error"].as_str().unwrap().contains("550"),
        "{failed:?}"
    );
    let id = failed[0]["id"].as_str().unwrap();
    sb.envoi(&["queue", "retry", id], None).assert_ok();
    assert!(listed(&sb, true).is_empty());
    assert_eq!(listed(&sb, false)[0]["id"], id);
    // Still refused: a flush moves it back at once, and the queue is empty (exit 0).
    let flush = sb.envoi(&["queue", "flush"], None);
    flush.assert_ok();
    assert!(flush.stderr.contains("550"), "{flush:#?}");
    assert_eq!(listed(&sb, true).len(), 1);
    sb.envoi(&["queue", "remove", id], None).assert_ok();
    assert!(listed(&sb, true).is_empty());
    assert!(server.messages().is_empty());
}

#[test]
fn split_each_partial_acceptance_never_resends_the_accepted_copy() {
    let server = Smtpd::builder().refuse("dave.hidden@z.example").start();
    let sb = Sandbox::for_smtpd(&server);
    let path = sb.draft("d.eml", &draft(&unique("split")));
    let run = sb.envoi(
        &["send", "--bcc-policy", "split-each", path.to_str().unwrap()],
        None,
    );
    run.assert_code(69);
    assert_eq!(run.accepted().len(), 1, "{run:#?}");
    assert!(
        run.stderr.contains("dave.hidden@z.example"),
        "says which: {run:#?}"
    );
    let failed = listed(&sb, true);
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0]["to"],
        serde_json::json!(["dave.hidden@z.example"])
    );
    // Nothing left to send: the accepted copy is not queued.
    assert!(listed(&sb, false).is_empty());
    sb.envoi(&["queue", "flush", "--all"], None).assert_ok();
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(
        sorted(&got[0].rcpt_tos),
        sorted(&["bob@y.example", "carol@y.example"])
    );
}

#[test]
fn a_message_past_its_lifetime_moves_to_failed_with_the_reason() {
    let sb = Sandbox::new();
    sb.admin_config(&format!(
        "[relay]\n{}\n[outbox]\ndir = {}\nlifetime = \"1s\"\n",
        sb.smtp_relay(free_port(), Tls::None),
        toml_path(&sb.outbox())
    ));
    let path = sb.draft("d.eml", &draft(&unique("old")));
    sb.envoi(&["send", path.to_str().unwrap()], None)
        .assert_code(75);
    std::thread::sleep(Duration::from_millis(2200));
    let flush = sb.envoi(&["queue", "flush"], None);
    flush.assert_ok();
    assert!(flush.stderr.contains("gave up after"), "{flush:#?}");
    let failed = listed(&sb, true);
    assert_eq!(failed.len(), 1);
    let why = failed[0]["last_error"].as_str().unwrap();
    assert!(
        why.contains("gave up") && why.contains("127.0.0.1"),
        "{why}"
    );
}

#[test]
fn unwritable_outbox_exits_74_and_leaves_the_draft_unchanged() {
    let sb = Sandbox::new();
    let blocker = sb.path("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    sb.admin_config(&format!(
        "[relay]\n{}\n[outbox]\ndir = {}\n",
        sb.smtp_relay(free_port(), Tls::None),
        toml_path(&blocker.join("outbox"))
    ));
    let text = draft(&unique("unwritable"));
    let path = sb.draft("d.eml", &text);
    let before = std::fs::metadata(&path).unwrap().modified().unwrap();
    let run = sb.envoi(&["send", path.to_str().unwrap()], None);
    run.assert_code(74);
    assert!(run.stderr.contains("a-file"), "names the outbox: {run:#?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        before
    );
}

#[test]
fn sendmail_without_a_relay_queues_and_a_flush_delivers_once_configured() {
    let sb = Sandbox::new();
    sb.admin_config(&format!("[outbox]\ndir = {}\n", toml_path(&sb.outbox())));
    let msg = draft(&unique("cron"));
    let run = sb.envoi(&["sendmail", "-t", "-i"], Some(msg.as_bytes()));
    run.assert_code(75);
    assert!(run.stderr.contains("[relay]"), "how to configure: {run:#?}");
    assert!(
        run.stderr.contains("envoi queue flush"),
        "how to flush: {run:#?}"
    );
    assert!(run.saved_path().starts_with(sb.outbox()), "{run:#?}");
    let q = listed(&sb, false);
    assert_eq!(q.len(), 1);
    let why = q[0]["last_error"].as_str().unwrap();
    assert!(why.contains("no relay is configured"), "{why}");
    let id = q[0]["id"].as_str().unwrap();
    // sendmail's names for the queue: -bp and mailq list it.
    let bp = sb.envoi(&["sendmail", "-bp"], None);
    bp.assert_ok();
    assert!(bp.stdout.starts_with(id), "{bp:#?}");
    let mailq = sb.path("mailq");
    std::os::unix::fs::symlink(ENVOI, &mailq).unwrap();
    let run = super::harness::run(sb.command(&mailq), None);
    run.assert_ok();
    assert_eq!(run.stdout, bp.stdout);

    let server = Smtpd::builder().start();
    sb.relay(&sb.smtp_relay(server.port, Tls::None), "");
    // sendmail -q, as an administrator's cron line runs it, flushes.
    sb.envoi(&["sendmail", "-q"], None).assert_ok();
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_composed(&got[0], &["dave.hidden"]);
    assert!(listed(&sb, false).is_empty());
}

#[test]
fn send_without_a_relay_queues_and_says_how_to_configure_one() {
    let sb = Sandbox::new();
    sb.admin_config(&format!("[outbox]\ndir = {}\n", toml_path(&sb.outbox())));
    let path = sb.draft("d.eml", &draft(&unique("norelay")));
    let run = sb.envoi(
        &["send", "--bcc-policy", "split", path.to_str().unwrap()],
        None,
    );
    run.assert_code(75);
    assert!(run.stderr.contains("[relay]"), "{run:#?}");
    // split: the Bcc copy is queued apart from the others.
    let q = listed(&sb, false);
    assert_eq!(q.len(), 2, "{run:#?}");
    assert!(q.iter().all(|e| e["attempts"] == 0));
}
