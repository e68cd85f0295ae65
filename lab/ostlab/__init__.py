"""ostriage's real incident lab: a systemd-nspawn "controller" running real neutron, MariaDB and OVN."""
