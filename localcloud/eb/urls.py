"""URL routing for moto: the same endpoint as moto's EB, answered by our handler."""

from localcloud.eb.responses import LocalEBResponse

url_bases = [
    r"https?://elasticbeanstalk\.(?P<region>[a-zA-Z0-9\-_]+)\.amazonaws.com",
]

url_paths = {
    "{0}/$": LocalEBResponse.dispatch,
}
