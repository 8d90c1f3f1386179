[000h 0000   4]                    Signature : "MCFG"    [Memory Mapped Configuration table]
[004h 0004   4]                 Table Length : 0000003C
[008h 0008   1]                     Revision : 01
[009h 0009   1]                     Checksum : 8A
[00Ah 0010   6]                       Oem ID : "KASANE"
[010h 0016   8]                 Oem Table ID : "KASANEVM"
[018h 0024   4]                 Oem Revision : 00000001
[01Ch 0028   4]              Asl Compiler ID : "KSNE"
[020h 0032   4]        Asl Compiler Revision : 00000001
[024h 0036   8]                     Reserved : 0000000000000000
[02Ch 0044   8]                 Base Address : 00000000E0000000
[034h 0052   2]         Segment Group Number : 0000
[036h 0054   1]             Start Bus Number : 00
[037h 0055   1]               End Bus Number : 00
[038h 0056   4]                     Reserved : 00000000
Raw Table Data: Length 60 (0x3C)
    0000: 4D 43 46 47 3C 00 00 00 01 8A 4B 41 53 41 4E 45
    0010: 4B 41 53 41 4E 45 56 4D 01 00 00 00 4B 53 4E 45
    0020: 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 E0
    0030: 00 00 00 00 00 00 00 00 00 00 00 00
