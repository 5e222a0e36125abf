"""ACM on the local cloud, as strict as AWS where the collection relies on it.

- A requested (AMAZON_ISSUED) certificate stays PENDING_VALIDATION until the CNAME record of every
  one of its names' DNS validation options exists in a public Route 53 hosted zone (moto's own
  issues it after a fixed wait, whatever DNS says).
  https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html
- The account holds one certificate from the start, for `localhost`, issued by the local CA: the
  certificate the local inventory names, as a real account would hold one for its hostname.
"""

from moto.acm import models as acm_models
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.utils import utcnow
from moto.route53.models import route53_backends
from moto.utilities.utils import get_partition

from localcloud import tls

LOCAL_HOSTNAME = "localhost"
# A fixed id, so the local inventory can name the certificate before the local cloud starts.
STANDING_ID = "00000000-0000-4000-8000-6c6f63616c68"


def standing_arn(region, account_id=DEFAULT_ACCOUNT_ID):
    return "arn:%s:acm:%s:%s:certificate/%s" % (get_partition(region), region, account_id, STANDING_ID)


def _normal(name):
    return (name or "").rstrip(".").lower()


def _published(account_id, partition, name, value):
    """Whether a public hosted zone holds the CNAME record name -> value."""
    backend = route53_backends[account_id][partition]
    for zone in list(backend.zones.values()):
        zone_name = _normal(zone.name)
        if zone.private_zone or not (_normal(name) == zone_name or _normal(name).endswith("." + zone_name)):
            continue
        for record in list(zone.rrsets):
            if record.type == "CNAME" and _normal(record.name) == _normal(name) and _normal(value) in [_normal(v) for v in record.records]:
                return True
    return False


def _validated(bundle):
    _arn, partition, _service, _region, account_id = bundle.arn.split(":")[:5]
    options = bundle.describe()["Certificate"].get("DomainValidationOptions", [])
    return bool(options) and all(
        _published(account_id, partition, option["ResourceRecord"]["Name"], option["ResourceRecord"]["Value"]) for option in options
    )


def check(self):
    """moto's CertBundle.check, with issuance decided by DNS instead of a timer."""
    if self._not_valid_after(self._cert) <= utcnow():  # pylint: disable=protected-access
        self.status = "EXPIRED"
        return
    if self.type == "AMAZON_ISSUED" and self.status == "PENDING_VALIDATION" and _validated(self):
        self.status = "ISSUED"


def add_standing_certificate(ca_cert, ca_key, folder, region, account_id=DEFAULT_ACCOUNT_ID):
    cert, key = tls.issue(ca_cert, ca_key, [LOCAL_HOSTNAME], folder / "localhost.pem", folder / "localhost-key.pem")
    arn = standing_arn(region, account_id)
    bundle = acm_models.CertBundle(account_id, cert.read_bytes(), key.read_bytes(), chain=ca_cert.read_bytes(), region=region, arn=arn)
    acm_models.acm_backends[account_id][region]._certificates[arn] = bundle  # pylint: disable=protected-access
    return arn


def install():
    acm_models.CertBundle.check = check
