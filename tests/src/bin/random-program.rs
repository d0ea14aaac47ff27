//! A program with only `random` resources, for tests of the commands around
//! a run (preview exit codes, stack outputs, the dependency graph) that need
//! no cloud: a password rotated by the `rotation` config value, a suffix,
//! and a second ID that waits for the suffix.

use cairn_random::{IdArgs, PasswordArgs};

fn main() -> std::process::ExitCode {
    cairn::run("random-program", |ctx| {
        let rotation: String = ctx.config().get_or("rotation", "r1")?;
        let db = ctx.resource("db", PasswordArgs::builder().length(20).keepers([("rotation", rotation)]).build())?;
        let suffix = ctx.resource("suffix", IdArgs::builder().byte_length(4).build())?;
        let opts = cairn::ResourceOptions::builder().depends_on(vec![suffix.urn.clone()]).build();
        ctx.resource_with("build", IdArgs::builder().prefix("b-").build(), opts)?;
        ctx.export("suffix", &suffix.hex);
        ctx.export("db_password", &db.result);
        Ok(())
    })
}
