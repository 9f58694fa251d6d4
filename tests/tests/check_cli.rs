//! `uncover check`: a folder of broken scenario files is reported in full (every problem in
//! every file, each with file, line and field), and the shipped scenarios pass. The loader
//! is tested in-process; the built binary is also run when `cargo build` has produced it.

// A test that cannot unwrap has failed; panicking is how it says so.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use uncover::scenario::{json_schema, Library};
use uncover_tests::server_binary;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bad-scenarios")
}

fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Every problem the fixtures hold, as (file name, line, field).
fn expected_problems() -> Vec<(&'static str, usize, &'static str)> {
    vec![
        ("bad-kind.toml", 28, "facts[0].depth"),
        ("bad-kind.toml", 39, "facts[1].kind"),
        ("broken-requirements.toml", 40, "facts[1].weight"),
        ("broken-requirements.toml", 46, "facts[1].requires[0]"),
        ("duplicate-id-b.toml", 2, "id"),
        ("missing-field.toml", 13, "seller.product"),
        ("requirement-cycle.toml", 26, "facts[0].requires"),
        ("syntax-error.toml", 6, ""),
        ("unknown-field.toml", 43, "facts[1].earned_wen"),
    ]
}

#[test]
fn checking_a_folder_reports_every_problem_in_every_file() {
    let errors = Library::load_dir(&fixtures()).expect_err("the fixtures are broken");
    let found: Vec<(String, usize, String)> = errors
        .0
        .iter()
        .map(|e| {
            let name = e
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, e.line, e.field.clone())
        })
        .collect();
    let expected: Vec<(String, usize, String)> = expected_problems()
        .into_iter()
        .map(|(f, l, p)| (f.to_string(), l, p.to_string()))
        .collect();
    assert_eq!(found, expected, "all problems:\n{errors}");
}

#[test]
fn shipped_scenarios_pass_the_check() {
    let library = Library::load_dir(&scenarios()).unwrap_or_else(|e| panic!("{e}"));
    assert!(!library.is_empty());
}

fn run(bin: &Path, args: &[&std::ffi::OsStr]) -> Output {
    Command::new(bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()))
}

#[test]
fn check_command_prints_each_problem_and_fails() {
    let bin = server_binary();
    let out = run(&bin, &["check".as_ref(), fixtures().as_os_str()]);
    assert!(!out.status.success(), "check must fail on broken files");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (file, line, field) in expected_problems() {
        let location = if field.is_empty() {
            format!("{file}:{line}: ")
        } else {
            format!("{file}:{line}: {field}: ")
        };
        assert!(
            stderr.contains(&location),
            "stderr should contain `{location}`:\n{stderr}"
        );
    }
    assert!(
        stderr.contains(&format!(
            "{} problem(s) in the scenario files",
            expected_problems().len()
        )),
        "{stderr}"
    );
}

#[test]
fn check_command_passes_the_shipped_scenarios() {
    let bin = server_binary();
    let out = run(&bin, &["check".as_ref(), scenarios().as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let count = Library::load_dir(&scenarios())
        .map(|l| l.len())
        .unwrap_or_default();
    assert!(
        stdout.contains(&format!("{count} scenario(s) OK")),
        "{stdout}"
    );
}

#[test]
fn schema_command_prints_the_published_schema() {
    let bin = server_binary();
    let out = run(&bin, &["schema".as_ref()]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), json_schema());
}

#[test]
fn the_server_refuses_to_start_on_a_broken_scenario_folder() {
    let out = run(
        &server_binary(),
        &[
            "serve".as_ref(),
            "--bind".as_ref(),
            "127.0.0.1:0".as_ref(),
            "--data".as_ref(),
            ":memory:".as_ref(),
            "--scenarios".as_ref(),
            fixtures().as_os_str(),
        ],
    );
    assert!(!out.status.success(), "it must not serve broken scenarios");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (file, line, field) = expected_problems()[0];
    assert!(
        stderr.contains(&format!("{file}:{line}: {field}")),
        "the file, line and field are named:\n{stderr}"
    );
}

/// A server without its model must not start half-blind: it stops at once and names the
/// path it looked in and the command that fetches the model.
#[test]
fn a_missing_model_stops_the_server_with_the_path_and_the_fix() {
    let out: Output = Command::new(server_binary())
        .args(["serve", "--bind", "127.0.0.1:0", "--data", ":memory:"])
        .args(["--model", "/nonexistent/uncover-model"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/uncover-model"), "{err}");
    assert!(err.contains("make model"), "{err}");
}

/// `uncover explain` shows the reader's working for one message.
#[test]
fn explain_shows_the_nearest_example_and_what_the_bot_would_do() {
    let out: Output = Command::new(server_binary())
        .args([
            "explain",
            "distributor-inventory",
            "Who else would have a say in a decision like this?",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("son-takes-over"), "{text}");
    assert!(text.contains("closest to"), "{text}");
    assert!(text.contains("needs"), "{text}");
}
