"""The filter a playbook checks an environment's input with before anything is created: the
eb_environment module's own rules and messages, so the two can't disagree."""

import pytest

from ansible_collections.mlflowops.beanstalk.plugins.filter.eb_environment_problems import eb_environment_problems
from ansible_collections.mlflowops.beanstalk.plugins.module_utils._eb.common import AnsibleEBError
from ansible_collections.mlflowops.beanstalk.plugins.modules import eb_environment

ASG = "aws:autoscaling:asg"


def sizes(low, high):
    return [{"namespace": ASG, "option_name": "MinSize", "value": low}, {"namespace": ASG, "option_name": "MaxSize", "value": high}]


@pytest.mark.parametrize("environment", [
    {"name": "bad_name", "option_settings": sizes("1", "2")},
    {"name": "mlflow", "cname_prefix": "-x-", "option_settings": sizes("1", "2")},
    {"name": "mlflow", "option_settings": sizes("5", "2")},
    {"name": "mlflow", "option_settings": sizes("many", "2")},
])
def test_the_filter_refuses_what_the_module_refuses_in_its_words(environment):
    with pytest.raises(AnsibleEBError) as refused:
        eb_environment.validate(dict(environment, cname_prefix=environment.get("cname_prefix")))
    assert eb_environment_problems(environment) == [refused.value.message]


def test_good_input_has_no_problem_and_both_kinds_are_reported_together():
    assert eb_environment_problems({"name": "mlflow", "cname_prefix": "team-mlflow", "option_settings": sizes("2", "4")}) == []
    both = eb_environment_problems({"name": "x", "option_settings": sizes("3", "1")})
    assert len(both) == 2 and both[0].startswith("name: 'x'") and "MinSize (3) is greater than MaxSize (1)" in both[1]
