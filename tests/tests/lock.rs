//! A second `up` on a locked stack is refused at once, naming the holder;
//! the first finishes and the state is intact.

use std::time::Duration;

use cairn_tests::{Project, platform_config, unique, wait_for};

#[test]
fn a_concurrent_up_is_refused_with_the_holders_details() {
    let p = Project::new("test-platform");
    p.write_config("dev", &platform_config(&unique("lock"), ""));
    let mut first = p.spawn_slow_up(1500);
    let lock = p.state_dir("test-platform", "dev").join("lock");
    wait_for("the first up to take the lock", Duration::from_secs(60), || {
        std::fs::read_to_string(&lock).is_ok_and(|t| t.contains("\"pid\""))
    });

    let second = p.run(&["up", "--yes"]);
    assert_eq!(second.code, 1, "{second:?}");
    let pid = first.id().to_string();
    for needle in ["stack `dev` is locked by", "@", &format!("pid {pid}"), "for `up`", "since"] {
        assert!(second.stderr.contains(needle), "refusal lacks `{needle}`: {}", second.stderr);
    }

    let shown = p.run(&["state", "lock", "--json"]).ok().json();
    assert_eq!(shown["lock"]["pid"].as_u64(), Some(u64::from(first.id())), "{shown}");
    assert_eq!(shown["lock"]["operation"], "up");

    // A run that may wait gets the lock once the holder is done.
    let waiter = p.run(&["up", "--yes", "--lock-timeout", "2m"]);
    assert_eq!(waiter.code, 0, "waited for the lock: {waiter:?}");

    assert!(first.wait().unwrap().success(), "the holder finishes undisturbed");
    let shown = p.run(&["state", "lock", "--json"]).ok().json();
    assert!(shown["lock"].is_null(), "released: {shown}");
    let after = p.run(&["preview", "--json"]).ok();
    assert!(after.ops().iter().all(|(_, op)| op == "same"), "state intact: {:?}", after.ops());
    p.run(&["destroy", "--yes"]).ok();
}
