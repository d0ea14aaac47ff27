# GPU node groups outside prod run on spot capacity: on-demand GPUs are for
# production traffic. Evaluated by Cairn on every plan (in process, with
# regorus) over the plan document described in docs/policy.md.
package acme.gpu_spot_outside_prod

deny contains violation if {
	input.stack != "prod"
	some r in input.resources
	r.type == "aws:eks:NodeGroup"
	r.new.capacity_type != "SPOT"
	some t in r.new.instance_types
	regex.match(`^(g4dn|g5|g5g|g6|g6e|p4d|p4de|p5|p5e)\.`, t)
	violation := {
		"urn": r.urn,
		"property": "capacity_type",
		"message": sprintf("GPU nodes (%s) on %s capacity outside prod", [t, r.new.capacity_type]),
		"fix": "use CapacityType::Spot outside prod (checkpoint the work), or run it in the prod stack",
	}
}
