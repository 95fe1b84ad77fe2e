//! In-process compose throughput (issue 2, "Benchmarks"): a typical 3 KB draft, and a 50 MB
//! draft with LF and with CRLF line endings. Throughput is reported in draft bytes per second;
//! the target is at least 1 GB/s on one core for both sizes.
//!
//! A third group composes 1,000 different drafts in turn. Composing one draft again and again
//! lets the CPU's branch predictors learn that draft by heart; a batch of varied drafts (what
//! `--out-dir` does) runs about 40% slower per byte, and this group shows by how much.
//!
//! Run with `cargo bench --bench compose`. Peak memory of the CLI on the 50 MB draft is measured
//! separately by `benches/memory.sh`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use envoi::{Composer, FixedClock, HashIds, Options};
use std::hint::black_box;
use std::time::Duration;

/// About 3 KB: several To/Cc recipients (display names, a group, a quoted name with a comma),
/// a Bcc, a few ordinary fields, a folded Subject and a 2.5 KB body of ordinary prose.
fn typical_draft() -> Vec<u8> {
    let mut d = String::new();
    d.push_str("From: Ann Example <ann@example.org>\n");
    d.push_str("To: Bob Builder <bob@example.net>, \"Doe, Carol\" <carol@example.com>,\n");
    d.push_str(" dave@sub.example.net, Team: erin@example.org, frank@example.org;\n");
    d.push_str("Cc: Grace <grace@example.com>, heidi@example.net (Heidi at work)\n");
    d.push_str("Bcc: Ivan <ivan@example.org>, judy@example.com\n");
    d.push_str(
        "Subject: Quarterly planning notes and the agenda for the\n meeting next Thursday\n",
    );
    d.push_str("In-Reply-To: <1234.5678@mail.example.org>\n");
    d.push_str("References: <1111.2222@mail.example.org> <1234.5678@mail.example.org>\n");
    d.push_str("MIME-Version: 1.0\n");
    d.push_str("Content-Type: text/plain; charset=utf-8\n");
    d.push_str("Content-Transfer-Encoding: 8bit\n");
    d.push('\n');
    let line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n";
    while d.len() < 3072 {
        d.push_str(line);
    }
    d.into_bytes()
}

/// `size` bytes: a short header, then 76-character lines (the length a mail client wraps at).
fn big_draft(size: usize, eol: &str) -> Vec<u8> {
    let mut d = format!(
        "From: ann@example.org{eol}To: bob@example.net, carol@example.com{eol}\
         Bcc: ivan@example.org{eol}Subject: big{eol}{eol}"
    )
    .into_bytes();
    let mut n = 0u64;
    while d.len() + 80 < size {
        let text = format!(
            "{n:010} The quick brown fox jumps over the lazy dog. 0123456789 abcdefghijklmnop"
        );
        d.extend_from_slice(&text.as_bytes()[..76]);
        d.extend_from_slice(eol.as_bytes());
        n += 1;
    }
    d
}

/// `n` different drafts, from a fixed seed: 1 to 4 To/Cc recipients each with or without
/// display names, quoted names with commas, comments, upper-case domains, sometimes a group or
/// a Bcc; bodies of 5 to 60 lines of varied length.
fn varied_drafts(n: usize) -> Vec<Vec<u8>> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move |k: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % k) as usize
    };
    const FIRST: [&str; 8] = [
        "Ann", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi",
    ];
    const LAST: [&str; 6] = ["Smith", "Jones", "Muller", "Rossi", "Novak", "Garcia"];
    const DOMAINS: [&str; 5] = [
        "example.org",
        "corp.example",
        "MAIL.EXAMPLE.NET",
        "lists.example.com",
        "sub.example.net",
    ];
    const WORDS: [&str; 12] = [
        "lorem",
        "ipsum",
        "budget",
        "review",
        "meeting",
        "agenda",
        "notes",
        "quarterly",
        "draft",
        "attached",
        "please",
        "report",
    ];
    let mailbox = |rnd: &mut dyn FnMut(u64) -> usize| {
        let (f, l) = (FIRST[rnd(8)], LAST[rnd(6)]);
        let addr = format!(
            "{}.{}{}@{}",
            f.to_lowercase(),
            l.to_lowercase(),
            rnd(100),
            DOMAINS[rnd(5)]
        );
        match rnd(4) {
            0 => addr,
            1 => format!("{f} {l} <{addr}>"),
            2 => format!("\"{l}, {f}\" <{addr}>"),
            _ => format!("{addr} ({f} at work)"),
        }
    };
    (0..n)
        .map(|i| {
            let mut d = format!("From: {}\n", mailbox(&mut rnd));
            for field in ["To", "Cc"] {
                let list: Vec<String> = (0..1 + rnd(4)).map(|_| mailbox(&mut rnd)).collect();
                d.push_str(&format!("{field}: {}\n", list.join(",\n ")));
            }
            if rnd(4) == 0 {
                d.push_str(&format!(
                    "Cc: Team: {}, {};\n",
                    mailbox(&mut rnd),
                    mailbox(&mut rnd)
                ));
            }
            if rnd(2) == 0 {
                d.push_str(&format!("Bcc: {}\n", mailbox(&mut rnd)));
            }
            d.push_str(&format!(
                "Subject: {} {} #{i}\n",
                WORDS[rnd(12)],
                WORDS[rnd(12)]
            ));
            d.push_str("MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n");
            for _ in 0..5 + rnd(56) {
                let words: Vec<&str> = (0..rnd(14)).map(|_| WORDS[rnd(12)]).collect();
                d.push_str(&words.join(" "));
                d.push('\n');
            }
            d.into_bytes()
        })
        .collect()
}

fn composers() -> [(&'static str, Composer); 2] {
    [
        (
            "default",
            Composer::new(Options::default()).expect("default options are valid"),
        ),
        (
            "fixed-hash",
            Composer::new(Options::default())
                .expect("default options are valid")
                .with_clock(FixedClock::utc(1_800_000_000))
                .with_ids(HashIds),
        ),
    ]
}

fn typical(c: &mut Criterion) {
    let draft = typical_draft();
    let mut g = c.benchmark_group("compose_3k");
    g.throughput(Throughput::Bytes(draft.len() as u64));
    for (name, composer) in composers() {
        composer
            .compose(&draft)
            .expect("the typical draft composes");
        // Compose, then append the exact bytes (CRLF conversion included, since the body is
        // converted as it is written) to a reused buffer, as the CLI does per file.
        let mut out = Vec::with_capacity(2 * draft.len());
        g.bench_function(BenchmarkId::new(name, draft.len()), |b| {
            b.iter(|| {
                let composed = composer.compose(black_box(&draft)).expect("composes");
                out.clear();
                for sub in &composed {
                    sub.push_to(&mut out);
                }
                black_box(out.len())
            })
        });
    }
    g.finish();
}

fn big(c: &mut Criterion) {
    const SIZE: usize = 50 * 1024 * 1024;
    let mut g = c.benchmark_group("compose_50m");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(1));
    for (eol_name, eol) in [("lf", "\n"), ("crlf", "\r\n")] {
        let draft = big_draft(SIZE, eol);
        g.throughput(Throughput::Bytes(draft.len() as u64));
        for (name, composer) in composers() {
            // Compose and write the whole message to a sink: the body's CRLF conversion happens
            // while writing, in 64 KiB chunks, so it must be inside the timing.
            g.bench_function(BenchmarkId::new(name, eol_name), |b| {
                b.iter(|| {
                    let composed = composer.compose(black_box(&draft)).expect("composes");
                    for sub in &composed {
                        sub.write_to(&mut std::io::sink()).expect("writes");
                    }
                })
            });
        }
    }
    g.finish();
}

fn varied(c: &mut Criterion) {
    let drafts = varied_drafts(1000);
    let bytes: usize = drafts.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("compose_varied_1000");
    g.throughput(Throughput::Bytes(bytes as u64));
    for (name, composer) in composers() {
        let mut out = Vec::new();
        g.bench_function(BenchmarkId::new(name, bytes), |b| {
            b.iter(|| {
                for d in &drafts {
                    let composed = composer.compose(black_box(d)).expect("composes");
                    out.clear();
                    for sub in &composed {
                        sub.push_to(&mut out);
                    }
                    black_box(out.len());
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, typical, varied, big);
criterion_main!(benches);
