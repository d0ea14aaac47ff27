//! A deliberately bad AI platform program, for the policy tests: an untagged
//! queue, a training node group on on-demand capacity that may grow to 40 GPU
//! nodes of a family not allowed, a public bucket, and a role allowed every
//! action. The bucket's name comes from the `bucket` config value.

use cairn::aws::policy::{PolicyDocument, Statement};
use cairn::aws::{
    AmiType, BucketArgs, CapacityType, NodeGroupArgs, PublicAccessBlock, QueueArgs, RoleArgs, ScalingConfig,
};

fn main() -> std::process::ExitCode {
    cairn::run("bad-program", |ctx| {
        ctx.resource("jobs", QueueArgs::builder().build())?;
        let bucket: String = ctx.config().require("bucket")?;
        let open = PublicAccessBlock::builder().block_public_policy(false).restrict_public_buckets(false).build();
        ctx.resource("site", BucketArgs::builder().bucket(bucket).public_access_block(open).build())?;
        let admin = PolicyDocument::builder().statement(vec![Statement::allow(["*"], ["*"])]).build();
        let role = ctx.resource(
            "trainer",
            RoleArgs::builder()
                .assume_role_policy(PolicyDocument::assume_role_for_service("ec2.amazonaws.com"))
                .inline_policies([("everything", admin)])
                .build(),
        )?;
        ctx.resource(
            "train-nodes",
            NodeGroupArgs::builder()
                .cluster_name("ai-dev")
                .node_role_arn(role.arn)
                .subnet_ids(vec!["subnet-0aaa"])
                .instance_types(["p4d.24xlarge"])
                .capacity_type(CapacityType::OnDemand)
                .ami_type(AmiType::Al2X86_64Gpu)
                .scaling(ScalingConfig { min_size: 0, max_size: 40, desired_size: 2 })
                .labels([("cairn.dev/workload", "training")])
                .build(),
        )?;
        Ok(())
    })
}
