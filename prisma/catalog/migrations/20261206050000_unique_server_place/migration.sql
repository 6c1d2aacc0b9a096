-- One registration per tenants database: two would migrate it and place tenants on it twice.
CREATE UNIQUE INDEX "database_servers_host_port_tenants_database_key" ON "database_servers"("host", "port", "tenants_database");
