"""What the resources share: timestamps and ARNs."""

from datetime import datetime, timezone

from moto.utilities.utils import get_partition


def now():
    return datetime.now(timezone.utc)


def aware(moment):
    """Request timestamps arrive naive (UTC); ours are aware."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def make_arn(region, account, kind, path):
    return "arn:%s:elasticbeanstalk:%s:%s:%s/%s" % (get_partition(region), region, account, kind, path)
