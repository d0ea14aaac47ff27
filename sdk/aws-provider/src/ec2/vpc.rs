//! `aws:ec2:Vpc`: the EC2 calls. The provider ID is the VPC ID.

use aws_sdk_ec2::types::{AttributeBooleanValue, Vpc, VpcAttributeName};
use cairn_aws::ec2::{VpcArgs, VpcOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, Input, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};

use crate::Clients;
use crate::ec2::{Ec2ResultExt, arn, filter, gone, missing, recorded_or_tagged, retag, tag_map, tag_specs, undo};
use crate::sdk::{LastStatus, optional, wait_until};
use cairn_provider_sdk::known;

/// EC2's DNS settings of a new VPC: support on, host names off.
const NEW_VPC_DNS: Dns = Dns { support: true, hostnames: false };

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dns {
    support: bool,
    hostnames: bool,
}

impl Dns {
    fn of(args: &VpcArgs) -> Self {
        Dns { support: args.enable_dns_support, hostnames: args.enable_dns_hostnames }
    }
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: VpcArgs = cairn_provider_sdk::args(&req.inputs)?;
    let cidr = known(&args.cidr_block, "cidr_block")?;
    let out = c
        .ec2
        .create_vpc()
        .cidr_block(cidr)
        .set_tag_specifications(tag_specs("vpc", &args.tags, &req.urn))
        .send()
        .await
        .ec2("CreateVpc", cidr)?;
    let id = out.vpc().and_then(Vpc::vpc_id).ok_or_else(|| missing("CreateVpc", cidr, "VPC ID"))?.to_owned();
    // A VPC with the wrong DNS settings must not linger unrecorded.
    let configured = async {
        wait_available(c, &id).await?;
        set_dns(c, &id, NEW_VPC_DNS, Dns::of(&args)).await?;
        describe(c, &id).await?.ok_or_else(|| gone("VPC", &id))
    };
    let vpc = match configured.await {
        Ok(vpc) => vpc,
        Err(e) => return Err(undo(e, &format!("VPC `{id}`"), delete_vpc(c, &id)).await),
    };
    Ok(CreateResponse { outputs: outputs(c, &vpc).await?, id })
}

/// The VPC, or `None` if it does not exist.
async fn describe(c: &Clients, id: &str) -> Result<Option<Vpc>, ProviderError> {
    let out = optional(c.ec2.describe_vpcs().vpc_ids(id).send().await.ec2("DescribeVpcs", id))?;
    Ok(out.and_then(|o| o.vpcs().first().cloned()))
}

async fn wait_available(c: &Clients, id: &str) -> Result<(), ProviderError> {
    let last = LastStatus::default();
    let seen = &last;
    wait_until(&format!("VPC `{id}` to become available"), &c.waits, move || async move {
        let vpc = describe(c, id).await?.ok_or_else(|| gone("VPC", id))?;
        let state = vpc.state().map_or("unknown", |s| s.as_str());
        seen.set(state);
        Ok(state == "available")
    })
    .await
    .map_err(|e| last.explain(e))
}

/// Changes the DNS settings from `old` to `new`, one attribute per call (EC2
/// refuses both at once). Host names need DNS support: support is turned on
/// before host names, and off after them.
async fn set_dns(c: &Clients, id: &str, old: Dns, new: Dns) -> Result<(), ProviderError> {
    let flag = |v: bool| AttributeBooleanValue::builder().value(v).build();
    if new.support && !old.support {
        c.ec2
            .modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_support(flag(true))
            .send()
            .await
            .ec2("ModifyVpcAttribute", id)?;
    }
    if new.hostnames != old.hostnames {
        c.ec2
            .modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_hostnames(flag(new.hostnames))
            .send()
            .await
            .ec2("ModifyVpcAttribute", id)?;
    }
    if !new.support && old.support {
        c.ec2
            .modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_support(flag(false))
            .send()
            .await
            .ec2("ModifyVpcAttribute", id)?;
    }
    Ok(())
}

/// The live DNS settings.
async fn dns(c: &Clients, id: &str) -> Result<Dns, ProviderError> {
    let support = c
        .ec2
        .describe_vpc_attribute()
        .vpc_id(id)
        .attribute(VpcAttributeName::from("enableDnsSupport"))
        .send()
        .await
        .ec2("DescribeVpcAttribute", id)?;
    let hostnames = c
        .ec2
        .describe_vpc_attribute()
        .vpc_id(id)
        .attribute(VpcAttributeName::from("enableDnsHostnames"))
        .send()
        .await
        .ec2("DescribeVpcAttribute", id)?;
    Ok(Dns {
        support: support.enable_dns_support().and_then(AttributeBooleanValue::value).unwrap_or(true),
        hostnames: hostnames.enable_dns_hostnames().and_then(AttributeBooleanValue::value).unwrap_or(false),
    })
}

async fn outputs(c: &Clients, vpc: &Vpc) -> Result<Value, ProviderError> {
    let id = vpc.vpc_id().unwrap_or_default();
    let groups = c
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", id))
        .filters(filter("group-name", "default"))
        .send()
        .await
        .ec2("DescribeSecurityGroups", id)?;
    let default_security_group_id =
        groups.security_groups().first().and_then(|g| g.group_id()).unwrap_or_default().to_owned();
    cairn_provider_sdk::to_value(&VpcOutputs {
        id: id.to_owned(),
        arn: arn(c, vpc.owner_id(), "vpc", id),
        cidr_block: vpc.cidr_block().unwrap_or_default().to_owned(),
        default_security_group_id,
    })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let Some(id) = recorded_or_tagged(c, &req).await? else { return Ok(None) };
    let Some(vpc) = describe(c, &id).await? else { return Ok(None) };
    let dns = dns(c, &id).await?;
    let live = VpcArgs {
        cidr_block: Input::Value(vpc.cidr_block().unwrap_or_default().to_owned()),
        enable_dns_support: dns.support,
        enable_dns_hostnames: dns.hostnames,
        tags: tag_map(vpc.tags()),
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(c, &vpc).await?,
        id,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: VpcArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: VpcArgs = cairn_provider_sdk::args(&req.news)?;
    let id = req.id.as_str();
    if Dns::of(&old) != Dns::of(&new) {
        set_dns(c, id, Dns::of(&old), Dns::of(&new)).await?;
    }
    if old.tags != new.tags {
        retag(c, id, &old.tags, &new.tags).await?;
    }
    let vpc = describe(c, id).await?.ok_or_else(|| gone("VPC", id))?;
    Ok(UpdateResponse { outputs: outputs(c, &vpc).await? })
}

pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    delete_vpc(c, &req.id).await
}

/// Deletes the VPC (EC2 refuses while subnets, gateways or groups remain:
/// `DependencyViolation`). A VPC already gone counts as deleted.
async fn delete_vpc(c: &Clients, id: &str) -> Result<(), ProviderError> {
    optional(c.ec2.delete_vpc().vpc_id(id).send().await.ec2("DeleteVpc", id))?;
    Ok(())
}
