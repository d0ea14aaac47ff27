//! A program with only `random` resources, for tests of the commands around
//! a run (preview exit codes, stack outputs, the dependency graph) that need
//! no cloud: a password rotated by the `rotation` config value, a suffix,
//! and a second ID that waits for the suffix (made by the provider instance
//! the `suffix_provider` config value names, if any).

use cairn_random::{IdArgs, PasswordArgs};

fn main() -> std::process::ExitCode {
    cairn::run("random-program", |ctx| {
        let rotation: String = ctx.config().get_or("rotation", "r1")?;
        let db = ctx.resource("db", PasswordArgs::builder().length(20).keepers([("rotation", rotation)]).build())?;
        // A named provider instance for the suffix, when the config names one.
        let suffix_opts =
            cairn::ResourceOptions { provider: ctx.config().get::<String>("suffix_provider")?, ..Default::default() };
        let suffix = ctx.resource_with("suffix", IdArgs::builder().byte_length(4).build(), suffix_opts)?;
        let opts = cairn::ResourceOptions::builder().depends_on(vec![suffix.urn.clone()]).build();
        ctx.resource_with("build", IdArgs::builder().prefix("b-").build(), opts)?;
        ctx.export("suffix", &suffix.hex);
        ctx.export("db_password", &db.result);
        Ok(())
    })
}
