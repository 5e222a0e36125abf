"""RDS on the local cloud: every DB instance moto creates is a database in the throwaway cluster.

moto keeps the RDS API state; these hooks make its endpoints real. An instance's endpoint is
127.0.0.1 and the cluster's port, its master user and password are a role of the cluster, its
DBName a database owned by that role. Changing the master password changes the role's;
deleting the instance drops both.
"""

from moto.rds import models as rds_models
from moto.rds.exceptions import RDSClientError

from localcloud.config import HOST

_CLUSTER = {}
# RDS answers a major version (16) with its default minor version (16.x) and reports that from
# then on; ModifyDBInstance with a bare major is no upgrade target. Recent defaults, for the shape:
# https://docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes/postgresql-versions.html
POSTGRES_DEFAULT_MINOR = {"13": "13.20", "14": "14.17", "15": "15.12", "16": "16.8", "17": "17.4"}


def full_version(engine, version):
    """The version RDS reports for what was asked (None: the engine's default)."""
    if not str(engine or "").startswith("postgres"):
        return version
    version = str(version or max(POSTGRES_DEFAULT_MINOR, key=int))
    if "." in version:
        return version
    if version not in POSTGRES_DEFAULT_MINOR:
        raise RDSClientError("InvalidParameterCombination", "Cannot find version %s for %s" % (version, engine))
    return POSTGRES_DEFAULT_MINOR[version]


def _database_name(database):
    return database.db_name or "postgres"


def _ensure(database):
    cluster = _CLUSTER.get("cluster")
    if cluster is None or not str(database.engine or "").startswith("postgres"):
        return
    database.port = cluster.port
    password = getattr(database, "_master_user_password", None)
    if database.master_username and password:
        cluster.ensure_database(_database_name(database), database.master_username, password)


def install(cluster):
    _CLUSTER["cluster"] = cluster
    backend_class = rds_models.RDSBackend
    create, modify, delete = backend_class.create_db_instance, backend_class.modify_db_instance, backend_class.delete_db_instance

    def create_db_instance(self, db_kwargs):
        db_kwargs["engine_version"] = full_version(db_kwargs.get("engine"), db_kwargs.get("engine_version"))
        database = create(self, db_kwargs)
        _ensure(database)
        return database

    def modify_db_instance(self, db_instance_identifier, db_kwargs):
        asked = db_kwargs.get("engine_version")
        if asked and "." not in str(asked):
            current = self.describe_db_instances(db_instance_identifier)[0]
            if str(current.engine or "").startswith("postgres"):
                raise RDSClientError("InvalidParameterCombination", "Cannot upgrade %s from %s to %s" % (current.engine, current.engine_version, asked))
        database = modify(self, db_instance_identifier, db_kwargs)
        if db_kwargs.get("master_user_password"):
            _ensure(database)
        return database

    def delete_db_instance(self, db_instance_identifier, *args, **kwargs):
        database = delete(self, db_instance_identifier, *args, **kwargs)
        if _CLUSTER.get("cluster") and str(database.engine or "").startswith("postgres"):
            name = _database_name(database)
            _CLUSTER["cluster"].drop_database(None if name == "postgres" else name, database.master_username)
        return database

    backend_class.create_db_instance = create_db_instance
    backend_class.modify_db_instance = modify_db_instance
    backend_class.delete_db_instance = delete_db_instance
    rds_models.DBInstance.address = property(lambda self: HOST)
