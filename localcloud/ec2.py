"""EC2 in moto, as strict as EC2 where the local platform's instances rely on it.

ModifyInstanceMetadataOptions: EC2 keeps the current value of every option the call leaves out
and takes hop limits from 1 to 64 only; moto resets what was left out (HttpTokens `required`
became None, so IMDSv1 would come back on) and takes any number.
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ModifyInstanceMetadataOptions.html
"""

from moto.ec2.exceptions import InvalidParameterValue
from moto.ec2.models import instances as instance_models

_FIELDS = {
    "http_tokens": "http_tokens",
    "hop_limit": "http_put_response_hop_limit",
    "http_endpoint": "http_endpoint",
    "http_protocol": "http_protocol_ipv6",
    "metadata_tags": "instance_metadata_tags",
}
_CHOICES = {"http_tokens": ("optional", "required"), "http_endpoint": ("enabled", "disabled"),
            "http_protocol": ("enabled", "disabled"), "metadata_tags": ("enabled", "disabled")}


def install():
    def modify_instance_metadata_options(self, instance_id, dry_run=False, **changes):  # pylint: disable=unused-argument
        instance = self.get_instance(instance_id)
        hop_limit = changes.get("hop_limit")
        if hop_limit is not None and not 1 <= int(hop_limit) <= 64:
            raise InvalidParameterValue("The HttpPutResponseHopLimit value must be between 1 and 64.")
        for name, allowed in _CHOICES.items():
            if changes.get(name) is not None and changes[name] not in allowed:
                raise InvalidParameterValue("Value (%s) for parameter %s is invalid." % (changes[name], name))
        current = instance.metadata_options
        for name, attribute in _FIELDS.items():
            if changes.get(name) is not None:
                setattr(current, attribute, int(changes[name]) if name == "hop_limit" else changes[name])
        current.state = "applied"
        return current

    instance_models.InstanceBackend.modify_instance_metadata_options = modify_instance_metadata_options
