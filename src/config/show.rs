//! `envoi config`: the effective configuration as TOML, with every secret masked.

use super::*;

impl Config {
    /// The effective configuration as TOML, secrets masked: a password is never shown, only
    /// which source provides it (a command could itself contain a secret, so it is hidden too).
    pub fn to_masked_toml(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let who = match f.origin {
                Origin::Admin => "admin file",
                Origin::User => "user file",
            };
            let state = if f.found { "read" } else { "not found" };
            out.push_str(&format!("# {who}: {} ({state})\n", f.path.display()));
        }
        out.push_str(&format!("allow_user_relay = {}\n", self.allow_user_relay));
        if let Some((r, o)) = &self.relay {
            out.push_str(&format!("\n[relay] # from the {}\n", origin_name(*o)));
            write_relay(&mut out, r);
        }
        for (name, (r, o)) in &self.accounts {
            out.push_str(&format!(
                "\n[accounts.{}] # from the {}\n",
                toml_key(name),
                origin_name(*o)
            ));
            write_relay(&mut out, r);
        }
        let c = &self.compose;
        out.push_str("\n[compose]\n");
        let opt = |out: &mut String, k: &str, v: Option<String>| {
            if let Some(v) = v {
                out.push_str(&format!("{k} = {}\n", quote(&v)));
            }
        };
        opt(&mut out, "id_domain", c.id_domain.clone());
        opt(&mut out, "x_mailer", c.x_mailer.clone());
        opt(&mut out, "bcc_policy", c.bcc_policy.map(|p| p.to_string()));
        opt(&mut out, "from", c.from.as_ref().map(|a| a.to_string()));
        opt(&mut out, "domain", c.domain.clone());
        opt(
            &mut out,
            "aliases",
            c.aliases.as_ref().map(|p| p.display().to_string()),
        );
        if !c.me.is_empty() {
            let me: Vec<String> = c.me.iter().map(|a| quote(a.as_str())).collect();
            out.push_str(&format!("me = [{}]\n", me.join(", ")));
        }
        out.push_str("\n[outbox]\n");
        out.push_str(&format!(
            "dir = {}\n",
            quote(&self.outbox_dir.display().to_string())
        ));
        out.push_str(&format!(
            "lifetime = \"{}s\"\n",
            self.outbox_lifetime.as_secs()
        ));
        out
    }
}

fn origin_name(o: Origin) -> &'static str {
    match o {
        Origin::Admin => "admin file",
        Origin::User => "user file",
    }
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        k.to_owned()
    } else {
        quote(k)
    }
}

fn write_relay(out: &mut String, r: &RelayConfig) {
    let mut kv = |k: &str, v: String| out.push_str(&format!("{k} = {v}\n"));
    match r {
        RelayConfig::Smtp(s) => {
            kv("kind", quote("smtp"));
            kv("host", quote(s.host()));
            kv("port", s.port().to_string());
            kv("tls", quote(s.tls().name()));
            if let Some(c) = s.credentials() {
                kv("user", quote(c.user()));
                if let Some(m) = s.auth() {
                    kv("auth", quote(m.name()));
                }
                match c.password() {
                    PasswordSource::Command(_) => kv(
                        "password_command",
                        quote("<hidden: the password comes from a command>"),
                    ),
                    PasswordSource::Env(v) => kv("password_env", quote(v)),
                    PasswordSource::File(p) => kv("password_file", quote(&p.display().to_string())),
                    // Not from a file: a caller handed it over. Never shown.
                    PasswordSource::Given(_) => kv("password", quote("<hidden>")),
                }
            }
            if let Some(c) = s.ca_file() {
                kv("ca_file", quote(&c.display().to_string()));
            }
            if let Some(fp) = s.tls_fingerprint() {
                kv("tls_fingerprint", quote(&fp.to_string()));
            }
            if let Some(n) = s.dsn().notify() {
                kv("dsn_notify", quote(&n.to_string().to_ascii_lowercase()));
            }
            if let Some(r) = s.dsn().ret() {
                kv(
                    "dsn_return",
                    quote(if r == Ret::Full { "full" } else { "hdrs" }),
                );
            }
            kv("timeout_secs", s.timeout().as_secs().to_string());
            if let Some(h) = s.hello_name() {
                kv("hello_name", quote(h));
            }
        }
        RelayConfig::Sendmail(s) => {
            kv("kind", quote("sendmail"));
            kv("path", quote(&s.path.display().to_string()));
            let args: Vec<String> = s.args.iter().map(|a| quote(a)).collect();
            kv("args", format!("[{}]", args.join(", ")));
        }
        RelayConfig::File { dir } => {
            kv("kind", quote("file"));
            kv("dir", quote(&dir.display().to_string()));
        }
    }
}
