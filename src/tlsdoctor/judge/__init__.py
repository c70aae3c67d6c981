"""Judging: rules turn observations into findings; nothing here touches the network."""
