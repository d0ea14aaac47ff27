//! `aws:ec2:Subnet`: the EC2 calls. The provider ID is the subnet ID.

use aws_sdk_ec2::types::{AttributeBooleanValue, Subnet};
use cairn_aws::ec2::{SubnetArgs, SubnetOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, Input, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};

use crate::Clients;
use crate::ec2::{Ec2ResultExt, arn, filter, gone, missing, retag, tag_map, tag_specs, undo};
use crate::sdk::{LastStatus, optional, wait_until};
use cairn_provider_sdk::known;

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: SubnetArgs = cairn_provider_sdk::args(&req.inputs)?;
    let vpc_id = known(&args.vpc_id, "vpc_id")?;
    let cidr = known(&args.cidr_block, "cidr_block")?;
    let zone = args.availability_zone.as_ref().map(|z| known(z, "availability_zone").cloned()).transpose()?;
    let target = format!("{vpc_id} {cidr}");
    let out = c
        .ec2
        .create_subnet()
        .vpc_id(vpc_id)
        .cidr_block(cidr)
        .set_availability_zone(zone)
        .set_tag_specifications(tag_specs("subnet", &args.tags, &req.urn))
        .send()
        .await
        .ec2("CreateSubnet", &target)?;
    let id = out.subnet().and_then(Subnet::subnet_id).ok_or_else(|| missing("CreateSubnet", &target, "subnet ID"))?;
    let id = id.to_owned();
    let configured = async {
        wait_available(c, &id).await?;
        if args.map_public_ip_on_launch {
            set_public_ip(c, &id, true).await?;
        }
        describe(c, &id).await?.ok_or_else(|| gone("subnet", &id))
    };
    let subnet = match configured.await {
        Ok(s) => s,
        Err(e) => return Err(undo(e, &format!("subnet `{id}`"), delete_subnet(c, &id)).await),
    };
    Ok(CreateResponse { outputs: outputs(c, &subnet)?, id })
}

/// The subnet, or `None` if it does not exist.
async fn describe(c: &Clients, id: &str) -> Result<Option<Subnet>, ProviderError> {
    let out = optional(c.ec2.describe_subnets().subnet_ids(id).send().await.ec2("DescribeSubnets", id))?;
    Ok(out.and_then(|o| o.subnets().first().cloned()))
}

async fn wait_available(c: &Clients, id: &str) -> Result<(), ProviderError> {
    let last = LastStatus::default();
    let seen = &last;
    wait_until(&format!("subnet `{id}` to become available"), &c.waits, move || async move {
        let subnet = describe(c, id).await?.ok_or_else(|| gone("subnet", id))?;
        let state = subnet.state().map_or("unknown", |s| s.as_str());
        seen.set(state);
        Ok(state == "available")
    })
    .await
    .map_err(|e| last.explain(e))
}

async fn set_public_ip(c: &Clients, id: &str, on: bool) -> Result<(), ProviderError> {
    c.ec2
        .modify_subnet_attribute()
        .subnet_id(id)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(on).build())
        .send()
        .await
        .ec2("ModifySubnetAttribute", id)?;
    Ok(())
}

fn outputs(c: &Clients, s: &Subnet) -> Result<Value, ProviderError> {
    let id = s.subnet_id().unwrap_or_default();
    cairn_provider_sdk::to_value(&SubnetOutputs {
        id: id.to_owned(),
        arn: s.subnet_arn().map_or_else(|| arn(c, s.owner_id(), "subnet", id), str::to_owned),
        availability_zone: s.availability_zone().unwrap_or_default().to_owned(),
        vpc_id: s.vpc_id().unwrap_or_default().to_owned(),
        cidr_block: s.cidr_block().unwrap_or_default().to_owned(),
    })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let recorded: Option<SubnetArgs> = cairn_provider_sdk::recorded(&req.inputs);
    let subnet = match &req.id {
        Some(id) => describe(c, id).await?,
        // An interrupted create: a range is unique within its VPC.
        None => {
            let vpc_id = cairn_provider_sdk::input_str(&req.inputs, "vpc_id")?;
            let cidr = cairn_provider_sdk::input_str(&req.inputs, "cidr_block")?;
            let out = c
                .ec2
                .describe_subnets()
                .filters(filter("vpc-id", &vpc_id))
                .filters(filter("cidr-block", &cidr))
                .send()
                .await
                .ec2("DescribeSubnets", &format!("{vpc_id} {cidr}"))?;
            out.subnets().first().cloned()
        }
    };
    let Some(subnet) = subnet else { return Ok(None) };
    let id = subnet.subnet_id().unwrap_or_default().to_owned();
    let live = SubnetArgs {
        vpc_id: Input::Value(subnet.vpc_id().unwrap_or_default().to_owned()),
        cidr_block: Input::Value(subnet.cidr_block().unwrap_or_default().to_owned()),
        // EC2 picks a zone when none is asked for; reporting it then would look like drift.
        availability_zone: recorded
            .as_ref()
            .and_then(|r| r.availability_zone.as_ref())
            .and(subnet.availability_zone())
            .map(|z| Input::Value(z.to_owned())),
        map_public_ip_on_launch: subnet.map_public_ip_on_launch().unwrap_or(false),
        tags: tag_map(subnet.tags()),
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(c, &subnet)?,
        id,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: SubnetArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: SubnetArgs = cairn_provider_sdk::args(&req.news)?;
    let id = req.id.as_str();
    if old.map_public_ip_on_launch != new.map_public_ip_on_launch {
        set_public_ip(c, id, new.map_public_ip_on_launch).await?;
    }
    if old.tags != new.tags {
        retag(c, id, &old.tags, &new.tags).await?;
    }
    let subnet = describe(c, id).await?.ok_or_else(|| gone("subnet", id))?;
    Ok(UpdateResponse { outputs: outputs(c, &subnet)? })
}

pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    delete_subnet(c, &req.id).await
}

/// Deletes the subnet; one already gone counts as deleted.
async fn delete_subnet(c: &Clients, id: &str) -> Result<(), ProviderError> {
    optional(c.ec2.delete_subnet().subnet_id(id).send().await.ec2("DeleteSubnet", id))?;
    Ok(())
}
