"""`cti-daemon import customers|documents|employees FILE.csv`: CSV files into the store."""
