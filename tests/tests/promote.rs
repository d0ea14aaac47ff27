//! `promote`: a model version promoted as a reviewed change. Against a real project repository
//! and a real GitOps repository in a temp dir: the branch holds one commit changing one line of
//! the stack file, the pull request's body names both versions and exactly one manifest change
//! (the `InferenceService`) with its diff, and nothing was applied, merged or checked out.

use std::path::Path;
use std::process::Command;

use cairn_tests::{Run, bin, git, gitops_repo, with_plugins};

const STACK_FILE: &str = "# The dev stack of the model server.\n\n[provider.gitops]\nrepo = \"../gitops\"\n\n\
                          [config]\n# The model served: promoted as a reviewed change.\nmodel_version = \"v41\" # the \
                          last good one\nreplicas = 2\n";

fn run(project: &Path, backend: &str, args: &[&str]) -> Run {
    let mut cmd = Command::new(bin("gitops-program"));
    cmd.args(args)
        .args(["--stack", "dev", "--backend", backend])
        .current_dir(project)
        .env("CAIRN_PROJECT_DIR", project)
        .env("NO_COLOR", "1")
        .env_remove("CARGO");
    with_plugins(&mut cmd, &project.parent().unwrap().join("gitops"));
    cmd.output().expect("the program runs").into()
}

fn ok(run: Run, what: &str) -> Run {
    assert_eq!(run.code, 0, "{what}\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    run
}

#[test]
fn a_promotion_is_one_line_on_a_new_branch_and_a_pull_request_body() {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("platform");
    let gitops = gitops_repo(&tmp.path().join("gitops"));
    gitops_repo(&project);
    std::fs::write(project.join("Cairn.dev.toml"), STACK_FILE).unwrap();
    std::fs::write(project.join(".gitignore"), ".cairn/\n").unwrap();
    git(&project, &["add", "."]);
    git(&project, &["-c", "user.name=T", "-c", "user.email=t@e", "commit", "--quiet", "-m", "the platform"]);
    let backend = format!("file://{}", tmp.path().join("state").display());
    ok(run(&project, &backend, &["up", "--yes"]), "the first up");
    let gitops_head = git(&gitops, &["rev-parse", "HEAD"]);
    let project_head = git(&project, &["rev-parse", "HEAD"]);

    let body_file = tmp.path().join("pr.md");
    let promoted =
        ok(run(&project, &backend, &["promote", "model_version=v42", "--out", body_file.to_str().unwrap()]), "promote");
    let branch = "promote/dev/model_version-v42";
    assert!(promoted.stderr.contains(&format!("Created branch {branch}")), "{}", promoted.stderr);

    // The branch: one commit on top of HEAD, changing one line of the stack file.
    assert_eq!(git(&project, &["rev-list", "--count", &format!("HEAD..{branch}")]), "1");
    assert_eq!(git(&project, &["rev-parse", &format!("{branch}~1")]), project_head);
    assert_eq!(git(&project, &["diff", "--numstat", "HEAD", branch]), "1\t1\tCairn.dev.toml");
    let diff = git(&project, &["diff", "-U0", "HEAD", branch]);
    assert!(
        diff.contains("-model_version = \"v41\" # the last good one\n+model_version = \"v42\" # the last good one"),
        "the comment is kept: {diff}"
    );

    // Nothing else moved: not the checked-out branch, not the working tree, not the GitOps
    // repository, not the state.
    assert_eq!(git(&project, &["symbolic-ref", "--short", "HEAD"]), "main");
    assert_eq!(std::fs::read_to_string(project.join("Cairn.dev.toml")).unwrap(), STACK_FILE);
    assert_eq!(git(&project, &["status", "--porcelain"]), "");
    assert_eq!(git(&gitops, &["rev-parse", "HEAD"]), gitops_head);
    let again = ok(run(&project, &backend, &["preview", "--json"]), "preview");
    assert!(again.ops().iter().all(|(_, op)| op == "same"), "nothing was applied: {:?}", again.ops());

    // The body: both versions, exactly one manifest change, its diff, the plan.
    let body = std::fs::read_to_string(&body_file).unwrap();
    assert!(body.contains("`\"v41\"` → `\"v42\"`"), "{body}");
    let section = body.split("### Manifest changes").nth(1).unwrap().split("### Plan").next().unwrap();
    assert!(section.starts_with(" (1)"), "{section}");
    let listed: Vec<&str> = section.lines().filter(|l| l.starts_with("- `")).collect();
    assert_eq!(listed, ["- `clusters/dev/fraud/inferenceservice-fraud.yaml`: update"], "{body}");
    assert!(
        section.contains("-      storageUri: s3://models/fraud/v41/\n+      storageUri: s3://models/fraud/v42/"),
        "{section}"
    );
    assert!(body.contains("### Plan") && body.contains("1 to update"), "{body}");

    // The same promotion again: the branch exists, and the error says what to do.
    let twice = run(&project, &backend, &["promote", "model_version=v42"]);
    assert_eq!(twice.code, 1);
    assert!(twice.stderr.contains(&format!("branch `{branch}` already exists")), "{}", twice.stderr);
    // A key the stack does not have, and a value it already has.
    let unknown = run(&project, &backend, &["promote", "model_verison=v42"]);
    assert!(
        unknown.code == 1 && unknown.stderr.contains("has no `model_verison` under [config]"),
        "{}",
        unknown.stderr
    );
    let same = run(&project, &backend, &["promote", "model_version=v41"]);
    assert!(same.code == 1 && same.stderr.contains("is already \"v41\""), "{}", same.stderr);
    // A stack file with uncommitted changes is refused: the branch's one change must be the promotion.
    std::fs::write(project.join("Cairn.dev.toml"), format!("{STACK_FILE}# edited\n")).unwrap();
    let dirty = run(&project, &backend, &["promote", "model_version=v43"]);
    assert!(dirty.code == 1 && dirty.stderr.contains("has changes not committed"), "{}", dirty.stderr);
}
