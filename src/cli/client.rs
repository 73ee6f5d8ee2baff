//! The credentials, header and TLS flags of the subcommands that call a server (`push`,
//! `alert send`), resolved once into the HTTP client's settings.

use std::path::PathBuf;

use crate::http::client::{Authorization, BasicAuth, HttpClient, TlsConfig};

#[derive(clap::Args, Debug)]
pub struct ClientArgs {
    /// Basic auth user name.
    #[arg(long, requires = "password_file")]
    user: Option<String>,
    /// File holding the basic auth password.
    #[arg(long, value_name = "FILE", requires = "user")]
    password_file: Option<PathBuf>,
    /// File holding a bearer token.
    #[arg(long, value_name = "FILE", conflicts_with = "user")]
    bearer_token_file: Option<PathBuf>,
    /// An extra request header (repeatable).
    #[arg(long = "header", value_name = "K=V", value_parser = parse_header)]
    headers: Vec<(String, String)>,
    /// CA certificate(s) to verify the server with (PEM).
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Client certificate (PEM), with --key-file.
    #[arg(long, value_name = "FILE", requires = "key_file")]
    cert_file: Option<PathBuf>,
    /// Client key (PEM), with --cert-file.
    #[arg(long, value_name = "FILE", requires = "cert_file")]
    key_file: Option<PathBuf>,
    /// Do not verify the server's certificate.
    #[arg(long)]
    insecure_skip_verify: bool,
}

impl ClientArgs {
    /// The client settings these flags ask for.
    pub fn config(&self) -> HttpClient {
        HttpClient {
            basic_auth: self.user.as_ref().map(|u| BasicAuth {
                username: u.clone(),
                password_file: self.password_file.clone(),
                ..BasicAuth::default()
            }),
            authorization: self.bearer_token_file.as_ref().map(|f| Authorization {
                kind: "Bearer".into(),
                credentials: String::new(),
                credentials_file: Some(f.clone()),
            }),
            tls: TlsConfig {
                ca_file: self.ca_file.clone(),
                cert_file: self.cert_file.clone(),
                key_file: self.key_file.clone(),
                insecure_skip_verify: self.insecure_skip_verify,
                ..TlsConfig::default()
            },
            follow_redirects: true,
            headers: self.headers.clone(),
        }
    }
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))?;
    if k.is_empty()
        || !k
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
    {
        return Err(format!("invalid header name {k:?}"));
    }
    Ok((k.to_string(), v.to_string()))
}
