//! The synthetic stack of `cargo xtask bench`'s large-preview figures: `count`
//! `random` IDs (config), in components of ten, each with inputs of a
//! realistic size (eight keepers, as many tags as a cloud resource carries)
//! and a dependency on the ID at half its index, so the graph is a tree as
//! deep as it is wide. `changed_every = K` changes one keeper of every K-th
//! ID (0: none), which replaces it.

use cairn::ResourceOptions;
use cairn_random::IdArgs;

/// Resources per component.
const GROUP: usize = 10;

fn main() -> std::process::ExitCode {
    cairn::run("bench-program", |ctx| {
        let count: usize = ctx.config().get_or("count", 1_000usize)?;
        let changed_every: usize = ctx.config().get_or("changed_every", 0usize)?;
        let mut urns: Vec<cairn::Urn> = Vec::with_capacity(count);
        let mut group = None;
        for i in 0..count {
            if i % GROUP == 0 {
                group =
                    Some(ctx.component_scope("bench:index:Group", &format!("g{}", i / GROUP), Default::default())?);
            }
            let scope = group.as_ref().expect("a group per ten");
            let generation = if changed_every > 0 && i % changed_every == 0 { "2" } else { "1" };
            let keepers = [
                ("team", "ml-platform".to_owned()),
                ("cost-center", format!("cc-{:04}", i % 97)),
                ("environment", "bench".to_owned()),
                ("owner", "platform-team@example.com".to_owned()),
                ("model", format!("fraud-scorer-v{}", i % 13)),
                ("dataset", format!("s3://datasets/fraud/{:06}/part-0000.parquet", i)),
                ("region", "us-east-1".to_owned()),
                ("generation", generation.to_owned()),
            ];
            let args = IdArgs::builder().byte_length(8).prefix(format!("r{i}-")).keepers(keepers).build();
            let depends_on = if i == 0 { Vec::new() } else { vec![urns[(i - 1) / 2].clone()] };
            let id =
                scope.resource_with(&format!("id{i}"), args, ResourceOptions { depends_on, ..Default::default() })?;
            urns.push(id.urn);
        }
        Ok(())
    })
}
