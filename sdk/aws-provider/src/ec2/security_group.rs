//! `aws:ec2:SecurityGroup`: the EC2 calls. The provider ID is the group ID.
//! Rules are `aws:ec2:SecurityGroupRule` resources; the group only removes
//! (or restores) the allow-all egress rule EC2 gives every new group.

use aws_sdk_ec2::types::{IpPermission, IpRange, SecurityGroup};
use cairn_aws::ec2::{SecurityGroupArgs, SecurityGroupOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, Input, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};

use crate::Clients;
use crate::ec2::{Ec2ResultExt, arn, filter, gone, missing, retag, tag_map, tag_specs, undo};
use crate::sdk::optional;
use cairn_provider_sdk::known;

/// The rule EC2 adds to every new group: all traffic out, anywhere.
fn allow_all_egress() -> IpPermission {
    IpPermission::builder().ip_protocol("-1").ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build()).build()
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: SecurityGroupArgs = cairn_provider_sdk::args(&req.inputs)?;
    let name = cairn_provider_sdk::physical_name(&args.name, "name")?;
    let vpc = known(&args.vpc_id, "vpc_id")?;
    let out = c
        .ec2
        .create_security_group()
        .group_name(&name)
        .description(&args.description)
        .vpc_id(vpc)
        .set_tag_specifications(tag_specs("security-group", &args.tags, &req.urn))
        .send()
        .await
        .ec2("CreateSecurityGroup", &name)?;
    let id = out.group_id().ok_or_else(|| missing("CreateSecurityGroup", &name, "group ID"))?.to_owned();
    // A group that still allows what the program said to revoke must not linger unrecorded.
    let configured = async {
        if args.revoke_default_egress {
            set_default_egress(c, &id, false).await?;
        }
        describe(c, &id).await?.ok_or_else(|| gone("security group", &id))
    };
    let group = match configured.await {
        Ok(g) => g,
        Err(e) => return Err(undo(e, &format!("security group `{id}`"), delete_group(c, &id)).await),
    };
    Ok(CreateResponse { outputs: outputs(c, &group)?, id })
}

/// Removes (`allow` false) or restores the allow-all egress rule.
async fn set_default_egress(c: &Clients, id: &str, allow: bool) -> Result<(), ProviderError> {
    if allow {
        let out = c.ec2.authorize_security_group_egress().group_id(id).ip_permissions(allow_all_egress()).send().await;
        match out {
            // Already there: nothing to restore.
            Err(e) if aws_sdk_ec2::error::ProvideErrorMetadata::code(&e) == Some("InvalidPermission.Duplicate") => {}
            other => {
                other.ec2("AuthorizeSecurityGroupEgress", id)?;
            }
        }
    } else {
        let out = c.ec2.revoke_security_group_egress().group_id(id).ip_permissions(allow_all_egress()).send().await;
        // Already gone: nothing to revoke.
        optional(out.ec2("RevokeSecurityGroupEgress", id))?;
    }
    Ok(())
}

/// The group, or `None` if it does not exist.
async fn describe(c: &Clients, id: &str) -> Result<Option<SecurityGroup>, ProviderError> {
    let out = c.ec2.describe_security_groups().group_ids(id).send().await;
    Ok(optional(out.ec2("DescribeSecurityGroups", id))?.and_then(|o| o.security_groups().first().cloned()))
}

/// True when the group has the allow-all egress rule.
fn allows_all_egress(g: &SecurityGroup) -> bool {
    g.ip_permissions_egress()
        .iter()
        .any(|p| p.ip_protocol() == Some("-1") && p.ip_ranges().iter().any(|r| r.cidr_ip() == Some("0.0.0.0/0")))
}

fn outputs(c: &Clients, g: &SecurityGroup) -> Result<Value, ProviderError> {
    let id = g.group_id().unwrap_or_default();
    cairn_provider_sdk::to_value(&SecurityGroupOutputs {
        id: id.to_owned(),
        name: g.group_name().unwrap_or_default().to_owned(),
        arn: g.security_group_arn().map_or_else(|| arn(c, g.owner_id(), "security-group", id), str::to_owned),
        vpc_id: g.vpc_id().unwrap_or_default().to_owned(),
    })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let group = match &req.id {
        Some(id) => describe(c, id).await?,
        // An interrupted create: a name is unique within its VPC.
        None => {
            let name = cairn_provider_sdk::input_str(&req.inputs, "name")?;
            let vpc = cairn_provider_sdk::input_str(&req.inputs, "vpc_id")?;
            let out = c
                .ec2
                .describe_security_groups()
                .filters(filter("vpc-id", &vpc))
                .filters(filter("group-name", &name))
                .send()
                .await
                .ec2("DescribeSecurityGroups", &name)?;
            out.security_groups().first().cloned()
        }
    };
    let Some(group) = group else { return Ok(None) };
    let id = group.group_id().unwrap_or_default().to_owned();
    let live = SecurityGroupArgs {
        name: group.group_name().map(|n| Input::Value(n.to_owned())),
        description: group.description().unwrap_or_default().to_owned(),
        vpc_id: Input::Value(group.vpc_id().unwrap_or_default().to_owned()),
        // The live counterpart of the flag: the default rule is missing.
        revoke_default_egress: !allows_all_egress(&group),
        tags: tag_map(group.tags()),
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(c, &group)?,
        id,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: SecurityGroupArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: SecurityGroupArgs = cairn_provider_sdk::args(&req.news)?;
    let id = req.id.as_str();
    if old.revoke_default_egress != new.revoke_default_egress {
        set_default_egress(c, id, !new.revoke_default_egress).await?;
    }
    if old.tags != new.tags {
        retag(c, id, &old.tags, &new.tags).await?;
    }
    let group = describe(c, id).await?.ok_or_else(|| gone("security group", id))?;
    Ok(UpdateResponse { outputs: outputs(c, &group)? })
}

pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    delete_group(c, &req.id).await
}

/// Deletes the group (EC2 refuses while other groups' rules or network
/// interfaces use it: `DependencyViolation`); one already gone counts as deleted.
async fn delete_group(c: &Clients, id: &str) -> Result<(), ProviderError> {
    optional(c.ec2.delete_security_group().group_id(id).send().await.ec2("DeleteSecurityGroup", id))?;
    Ok(())
}
