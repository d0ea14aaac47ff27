//! `aws:ec2:Eip`: the EC2 calls. The provider ID is the allocation ID.

use aws_sdk_ec2::types::{Address, DomainType};
use cairn_aws::ec2::{EipArgs, EipDomain, EipOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};

use crate::Clients;
use crate::ec2::{Ec2ResultExt, gone, missing, recorded_or_tagged, retag, tag_map, tag_specs};
use crate::sdk::optional;

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: EipArgs = cairn_provider_sdk::args(&req.inputs)?;
    let out = c
        .ec2
        .allocate_address()
        .domain(DomainType::from(args.domain.as_str()))
        .set_address(args.address.clone())
        .set_tag_specifications(tag_specs("elastic-ip", &args.tags, &req.urn))
        .send()
        .await
        .ec2("AllocateAddress", args.domain.as_str())?;
    let id = out.allocation_id().ok_or_else(|| missing("AllocateAddress", args.domain.as_str(), "allocation ID"))?;
    let outputs = cairn_provider_sdk::to_value(&EipOutputs {
        allocation_id: id.to_owned(),
        public_ip: out.public_ip().unwrap_or_default().to_owned(),
    })?;
    Ok(CreateResponse { id: id.to_owned(), outputs })
}

/// The address, or `None` if it does not exist.
async fn describe(c: &Clients, id: &str) -> Result<Option<Address>, ProviderError> {
    let out = optional(c.ec2.describe_addresses().allocation_ids(id).send().await.ec2("DescribeAddresses", id))?;
    Ok(out.and_then(|o| o.addresses().first().cloned()))
}

fn outputs(a: &Address) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&EipOutputs {
        allocation_id: a.allocation_id().unwrap_or_default().to_owned(),
        public_ip: a.public_ip().unwrap_or_default().to_owned(),
    })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let Some(id) = recorded_or_tagged(c, &req).await? else { return Ok(None) };
    let Some(address) = describe(c, &id).await? else { return Ok(None) };
    let domain = address.domain().map_or("vpc", |d| d.as_str());
    let live = EipArgs {
        domain: EipDomain::from_aws(domain).ok_or_else(|| {
            ProviderError::internal(format!("elastic IP `{id}` has domain `{domain}`, which Cairn does not model"))
        })?,
        // Reported only where the program asked for one: an address EC2
        // picked is an output, not a declared input that drifted.
        address: req.inputs.get("address").and(address.public_ip()).map(str::to_owned),
        tags: tag_map(address.tags()),
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(&address)?,
        id,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: EipArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: EipArgs = cairn_provider_sdk::args(&req.news)?;
    let id = req.id.as_str();
    if old.tags != new.tags {
        retag(c, id, &old.tags, &new.tags).await?;
    }
    let address = describe(c, id).await?.ok_or_else(|| gone("elastic IP", id))?;
    Ok(UpdateResponse { outputs: outputs(&address)? })
}

/// Releases the address (EC2 refuses while a NAT gateway still uses it); one
/// already released counts as deleted.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let id = req.id.as_str();
    optional(c.ec2.release_address().allocation_id(id).send().await.ec2("ReleaseAddress", id))?;
    Ok(())
}
