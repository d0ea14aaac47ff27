//! `aws:ec2:NatGateway`: the EC2 calls. The provider ID is the gateway ID.
//!
//! EC2 keeps a deleted gateway visible for about an hour with the state
//! `deleted`; Read reports it as gone.

use aws_sdk_ec2::types::{ConnectivityType as Ec2ConnectivityType, NatGateway};
use cairn_aws::ec2::{ConnectivityType, NatGatewayArgs, NatGatewayOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ErrorCode, Input, ProviderError, ReadRequest, ReadResponse,
    UpdateRequest, UpdateResponse, Value,
};

use crate::Clients;
use crate::ec2::{Ec2ResultExt, gone, missing, recorded_or_tagged, retag, tag_map, tag_specs};
use crate::sdk::{LastStatus, optional, wait_until};
use cairn_provider_sdk::known;

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: NatGatewayArgs = cairn_provider_sdk::args(&req.inputs)?;
    let subnet = known(&args.subnet_id, "subnet_id")?;
    let allocation = args.allocation_id.as_ref().map(|a| known(a, "allocation_id").cloned()).transpose()?;
    let out = c
        .ec2
        .create_nat_gateway()
        .subnet_id(subnet)
        .set_allocation_id(allocation)
        .connectivity_type(Ec2ConnectivityType::from(args.connectivity_type.as_str()))
        .set_tag_specifications(tag_specs("natgateway", &args.tags, &req.urn))
        .send()
        .await
        .ec2("CreateNatGateway", subnet)?;
    let id = out
        .nat_gateway()
        .and_then(NatGateway::nat_gateway_id)
        .ok_or_else(|| missing("CreateNatGateway", subnet, "gateway ID"))?
        .to_owned();
    // No rollback on a slow or failed start: a failed gateway deletes itself,
    // and the error names it.
    let gateway = wait_available(c, &id).await?;
    Ok(CreateResponse { outputs: outputs(&gateway)?, id })
}

fn state_of(g: &NatGateway) -> &str {
    g.state().map_or("unknown", |s| s.as_str())
}

/// The gateway, or `None` if it does not exist (or only as `deleted`).
async fn describe(c: &Clients, id: &str) -> Result<Option<NatGateway>, ProviderError> {
    let out = optional(c.ec2.describe_nat_gateways().nat_gateway_ids(id).send().await.ec2("DescribeNatGateways", id))?;
    Ok(out.and_then(|o| o.nat_gateways().first().cloned()).filter(|g| state_of(g) != "deleted"))
}

/// Waits for the gateway to be `available` and returns it.
async fn wait_available(c: &Clients, id: &str) -> Result<NatGateway, ProviderError> {
    let last = LastStatus::default();
    let seen = &last;
    wait_until(&format!("NAT gateway `{id}` to become available"), &c.waits, move || async move {
        let g = describe(c, id).await?.ok_or_else(|| {
            ProviderError::new(ErrorCode::NotFound, format!("NAT gateway `{id}` disappeared while starting"))
        })?;
        seen.set(state_of(&g));
        match state_of(&g) {
            "available" => Ok(true),
            "failed" | "deleting" => Err(ProviderError::internal(format!(
                "NAT gateway `{id}` did not start: its state is {}: {}",
                state_of(&g),
                g.failure_message().unwrap_or("no failure message")
            ))),
            _ => Ok(false),
        }
    })
    .await
    .map_err(|e| last.explain(e))?;
    describe(c, id).await?.ok_or_else(|| gone("NAT gateway", id))
}

fn outputs(g: &NatGateway) -> Result<Value, ProviderError> {
    let address = g.nat_gateway_addresses().first();
    cairn_provider_sdk::to_value(&NatGatewayOutputs {
        id: g.nat_gateway_id().unwrap_or_default().to_owned(),
        public_ip: address.and_then(|a| a.public_ip()).unwrap_or_default().to_owned(),
        private_ip: address.and_then(|a| a.private_ip()).unwrap_or_default().to_owned(),
    })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let Some(id) = recorded_or_tagged(c, &req).await? else { return Ok(None) };
    let Some(g) = describe(c, &id).await? else { return Ok(None) };
    let connectivity = g.connectivity_type().map_or("public", |t| t.as_str());
    let live = NatGatewayArgs {
        subnet_id: Input::Value(g.subnet_id().unwrap_or_default().to_owned()),
        allocation_id: g
            .nat_gateway_addresses()
            .iter()
            .find_map(|a| a.allocation_id())
            .map(|a| Input::Value(a.to_owned())),
        connectivity_type: ConnectivityType::from_aws(connectivity).ok_or_else(|| {
            ProviderError::internal(format!(
                "NAT gateway `{id}` has connectivity `{connectivity}`, which Cairn does not model"
            ))
        })?,
        tags: tag_map(g.tags()),
    };
    Ok(Some(ReadResponse { inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?, outputs: outputs(&g)?, id }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: NatGatewayArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: NatGatewayArgs = cairn_provider_sdk::args(&req.news)?;
    let id = req.id.as_str();
    if old.tags != new.tags {
        retag(c, id, &old.tags, &new.tags).await?;
    }
    let g = describe(c, id).await?.ok_or_else(|| gone("NAT gateway", id))?;
    Ok(UpdateResponse { outputs: outputs(&g)? })
}

/// Deletes the gateway and waits until EC2 reports it `deleted` (its address
/// can only be released after that).
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let id = req.id.as_str();
    if optional(c.ec2.delete_nat_gateway().nat_gateway_id(id).send().await.ec2("DeleteNatGateway", id))?.is_none() {
        return Ok(());
    }
    let last = LastStatus::default();
    let seen = &last;
    wait_until(&format!("NAT gateway `{id}` to be deleted"), &c.waits, move || async move {
        let Some(g) = describe(c, id).await? else { return Ok(true) };
        seen.set(state_of(&g));
        Ok(false)
    })
    .await
    .map_err(|e| last.explain(e))
}

#[cfg(test)]
mod replacement_order {
    use super::*;

    fn inputs(subnet: &str, allocation: Option<&str>) -> Value {
        Value::from_json(&serde_json::json!({"subnet_id": subnet, "allocation_id": allocation, "tags": {}}))
    }

    #[test]
    fn a_replacement_keeping_the_address_deletes_the_old_gateway_first() {
        let moved = cairn_provider_sdk::diff::<NatGatewayArgs>(
            &inputs("subnet-a", Some("eipalloc-1")),
            &inputs("subnet-b", Some("eipalloc-1")),
        );
        assert!(!moved.replaces.is_empty() && moved.delete_before_replace, "{moved:?}");
        let new_ip = cairn_provider_sdk::diff::<NatGatewayArgs>(
            &inputs("subnet-a", Some("eipalloc-1")),
            &inputs("subnet-b", Some("eipalloc-2")),
        );
        assert!(!new_ip.replaces.is_empty() && !new_ip.delete_before_replace, "a new address: create first, no outage");
    }
}
