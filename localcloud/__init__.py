"""The local cloud: an AWS emulator and an Elastic Beanstalk that runs bundles on this machine.

It is a test harness and a trial target, never a production path. moto (server mode) answers
S3, IAM, STS, EC2, RDS, Secrets Manager and SSM; `localcloud.eb` extends moto's Elastic
Beanstalk in-process, and `localcloud.platform` runs each environment's instances without
Docker: the bundle's entrypoint from a prepared virtualenv, a real nginx per instance laid out
like EB's, a front nginx as the load balancer and a throwaway PostgreSQL cluster for RDS.
Everything lives under one state folder; `python -m localcloud --help` lists the commands.
"""
