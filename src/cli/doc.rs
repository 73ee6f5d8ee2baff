//! Man pages and shell completions, generated from the clap definition.
//!
//! The generated files are committed under `man/` and `completions/`; a test renders them
//! again and fails when they differ (it also rewrites them when `PROMBOX_REGENERATE=1`).

use clap_complete::Shell;

/// One man page per command: `prombox.1`, `prombox-check.1`, `prombox-check-metrics.1`, ...
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let mut cmd = super::command();
    cmd.build();
    let mut out = Vec::new();
    walk(&cmd, "", &mut out);
    out
}

fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) {
    let name = if prefix.is_empty() {
        cmd.get_name().to_string()
    } else {
        format!("{prefix}-{}", cmd.get_name())
    };
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone().name(name.clone()))
        .render(&mut buf)
        .expect("rendering into memory cannot fail");
    out.push((format!("{name}.1"), buf));
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        walk(sub, &name, out);
    }
}

/// Completion scripts for bash, zsh and fish.
pub fn completions() -> Vec<(String, Vec<u8>)> {
    [
        (Shell::Bash, "prombox.bash"),
        (Shell::Zsh, "_prombox"),
        (Shell::Fish, "prombox.fish"),
    ]
    .into_iter()
    .map(|(shell, file)| {
        let mut cmd = super::command();
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd, "prombox", &mut buf);
        (file.to_string(), buf)
    })
    .collect()
}
