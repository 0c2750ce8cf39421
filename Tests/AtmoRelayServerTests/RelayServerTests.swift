// Tests of the relay server: built in issue 4.
