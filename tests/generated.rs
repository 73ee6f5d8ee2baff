//! The committed man pages and completions match what the clap definition generates.

use std::path::Path;

const REGENERATE: &str = "PROMBOX_REGENERATE=1 cargo test --test tests generated";

fn check(dir: &str, files: Vec<(String, Vec<u8>)>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let regenerate = std::env::var_os("PROMBOX_REGENERATE").is_some();
    if regenerate {
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
    }
    let mut stale = Vec::new();
    for (name, bytes) in &files {
        let path = root.join(name);
        if regenerate {
            std::fs::write(&path, bytes).unwrap();
        } else if std::fs::read(&path).ok().as_ref() != Some(bytes) {
            stale.push(name.clone());
        }
    }
    let mut extra: Vec<String> = std::fs::read_dir(&root)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !files.iter().any(|(f, _)| f == n))
                .collect()
        })
        .unwrap_or_default();
    extra.sort();
    assert!(
        stale.is_empty() && extra.is_empty(),
        "{dir}/ is out of date (stale: {stale:?}, not generated: {extra:?}); regenerate with: {REGENERATE}"
    );
}

#[test]
fn man_pages_are_current() {
    check("man", prombox::cli::doc::man_pages());
}

#[test]
fn completions_are_current() {
    check("completions", prombox::cli::doc::completions());
}
