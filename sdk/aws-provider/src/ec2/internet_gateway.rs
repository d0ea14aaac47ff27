//! `aws:ec2:InternetGateway`: the EC2 calls. The provider ID is the gateway ID.

use aws_sdk_ec2::types::InternetGateway;
use cairn_aws::ec2::{InternetGatewayArgs, InternetGatewayOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, Input, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};

use crate::Clients;
use crate::ec2::{Ec2ResultExt, arn, gone, missing, recorded_or_tagged, retag, tag_map, tag_specs, undo};
use crate::sdk::optional;
use cairn_provider_sdk::known;

/// The VPC of the arguments, which must be known by create and update.
fn vpc_of(args: &InternetGatewayArgs) -> Result<Option<String>, ProviderError> {
    args.vpc_id.as_ref().map(|v| known(v, "vpc_id").cloned()).transpose()
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: InternetGatewayArgs = cairn_provider_sdk::args(&req.inputs)?;
    let vpc = vpc_of(&args)?;
    let out = c
        .ec2
        .create_internet_gateway()
        .set_tag_specifications(tag_specs("internet-gateway", &args.tags, &req.urn))
        .send()
        .await
        .ec2("CreateInternetGateway", "")?;
    let id = out
        .internet_gateway()
        .and_then(InternetGateway::internet_gateway_id)
        .ok_or_else(|| missing("CreateInternetGateway", "", "gateway ID"))?
        .to_owned();
    if let Some(vpc) = &vpc
        && let Err(e) = attach(c, &id, vpc).await
    {
        return Err(undo(e, &format!("internet gateway `{id}`"), delete_gateway(c, &id)).await);
    }
    let gateway = describe(c, &id).await?.ok_or_else(|| gone("internet gateway", &id))?;
    Ok(CreateResponse { outputs: outputs(c, &gateway)?, id })
}

async fn attach(c: &Clients, id: &str, vpc: &str) -> Result<(), ProviderError> {
    c.ec2
        .attach_internet_gateway()
        .internet_gateway_id(id)
        .vpc_id(vpc)
        .send()
        .await
        .ec2("AttachInternetGateway", &format!("{id} to {vpc}"))?;
    Ok(())
}

/// Detaches the gateway from `vpc`; not being attached counts as detached.
async fn detach(c: &Clients, id: &str, vpc: &str) -> Result<(), ProviderError> {
    let result = c.ec2.detach_internet_gateway().internet_gateway_id(id).vpc_id(vpc).send().await;
    match result {
        Err(e) if aws_sdk_ec2::error::ProvideErrorMetadata::code(&e) == Some("Gateway.NotAttached") => Ok(()),
        other => optional(other.ec2("DetachInternetGateway", &format!("{id} from {vpc}"))).map(|_| ()),
    }
}

/// The gateway, or `None` if it does not exist.
async fn describe(c: &Clients, id: &str) -> Result<Option<InternetGateway>, ProviderError> {
    let out = c.ec2.describe_internet_gateways().internet_gateway_ids(id).send().await;
    Ok(optional(out.ec2("DescribeInternetGateways", id))?.and_then(|o| o.internet_gateways().first().cloned()))
}

/// The VPCs the gateway is attached to (at most one), ignoring detached ones.
fn attached_vpcs(g: &InternetGateway) -> Vec<String> {
    g.attachments()
        .iter()
        .filter(|a| a.state().is_none_or(|s| !matches!(s.as_str(), "detached" | "detaching")))
        .filter_map(|a| a.vpc_id().map(str::to_owned))
        .collect()
}

fn outputs(c: &Clients, g: &InternetGateway) -> Result<Value, ProviderError> {
    let id = g.internet_gateway_id().unwrap_or_default();
    cairn_provider_sdk::to_value(&InternetGatewayOutputs {
        id: id.to_owned(),
        arn: arn(c, g.owner_id(), "internet-gateway", id),
    })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let Some(id) = recorded_or_tagged(c, &req).await? else { return Ok(None) };
    let Some(gateway) = describe(c, &id).await? else { return Ok(None) };
    let live = InternetGatewayArgs {
        vpc_id: attached_vpcs(&gateway).into_iter().next().map(Input::Value),
        tags: tag_map(gateway.tags()),
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(c, &gateway)?,
        id,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: InternetGatewayArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: InternetGatewayArgs = cairn_provider_sdk::args(&req.news)?;
    let id = req.id.as_str();
    let (old_vpc, new_vpc) = (vpc_of(&old)?, vpc_of(&new)?);
    if old_vpc != new_vpc {
        // A gateway is attached to one VPC at a time: detach first, from whatever it is attached to.
        let gateway = describe(c, id).await?.ok_or_else(|| gone("internet gateway", id))?;
        for vpc in attached_vpcs(&gateway).iter().filter(|v| Some(*v) != new_vpc.as_ref()) {
            detach(c, id, vpc).await?;
        }
        if let Some(vpc) = &new_vpc
            && !attached_vpcs(&gateway).contains(vpc)
        {
            attach(c, id, vpc).await?;
        }
    }
    if old.tags != new.tags {
        retag(c, id, &old.tags, &new.tags).await?;
    }
    let gateway = describe(c, id).await?.ok_or_else(|| gone("internet gateway", id))?;
    Ok(UpdateResponse { outputs: outputs(c, &gateway)? })
}

pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    delete_gateway(c, &req.id).await
}

/// Detaches the gateway from its VPC (EC2 refuses to delete an attached
/// gateway), then deletes it. A gateway already gone counts as deleted.
async fn delete_gateway(c: &Clients, id: &str) -> Result<(), ProviderError> {
    let Some(gateway) = describe(c, id).await? else { return Ok(()) };
    for vpc in attached_vpcs(&gateway) {
        detach(c, id, &vpc).await?;
    }
    optional(c.ec2.delete_internet_gateway().internet_gateway_id(id).send().await.ec2("DeleteInternetGateway", id))?;
    Ok(())
}
