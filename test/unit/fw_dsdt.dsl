DefinitionBlock ("", "DSDT", 2, "KASANE", "KASANEVM", 0x00000001)
{
    Scope (\_SB)
    {
        Device (PCI0)
        {
            Name (_HID, EisaId ("PNP0A08") )
            Name (_CID, EisaId ("PNP0A03") )
            Name (_SEG, Zero)
            Name (_BBN, Zero)
            Name (_UID, Zero)
            Name (_CRS, ResourceTemplate ()
            {
                WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
                    0x0000,
                    0x0000,
                    0x0000,
                    0x0000,
                    0x0001,
                    ,, )
                IO (Decode16,
                    0x0CF8,
                    0x0CF8,
                    0x01,
                    0x08,
                    )
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000,
                    0x0000,
                    0x0CF7,
                    0x0000,
                    0x0CF8,
                    ,, , TypeStatic, DenseTranslation)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000,
                    0x0D00,
                    0xFFFF,
                    0x0000,
                    0xF300,
                    ,, , TypeStatic, DenseTranslation)
                DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
                    0x00000000,
                    0xC0000000,
                    0xDFFFFFFF,
                    0x00000000,
                    0x20000000,
                    ,, , AddressRangeMemory, TypeStatic)
                QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
                    0x0000000000000000,
                    0x0000000800000000,
                    0x0000000FFFFFFFFF,
                    0x0000000000000000,
                    0x0000000800000000,
                    ,, , AddressRangeMemory, TypeStatic)
            })
            Name (_PRT, Package (0x7C)
            {
                Package (0x04)
                {
                    0x0001FFFF,
                    Zero,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0001FFFF,
                    One,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0001FFFF,
                    0x02,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0001FFFF,
                    0x03,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0002FFFF,
                    Zero,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0002FFFF,
                    One,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0002FFFF,
                    0x02,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0002FFFF,
                    0x03,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0003FFFF,
                    Zero,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0003FFFF,
                    One,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0003FFFF,
                    0x02,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0003FFFF,
                    0x03,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0004FFFF,
                    Zero,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0004FFFF,
                    One,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0004FFFF,
                    0x02,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0004FFFF,
                    0x03,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0005FFFF,
                    Zero,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0005FFFF,
                    One,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0005FFFF,
                    0x02,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0005FFFF,
                    0x03,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0006FFFF,
                    Zero,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0006FFFF,
                    One,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0006FFFF,
                    0x02,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0006FFFF,
                    0x03,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0007FFFF,
                    Zero,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0007FFFF,
                    One,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0007FFFF,
                    0x02,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0007FFFF,
                    0x03,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0008FFFF,
                    Zero,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0008FFFF,
                    One,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0008FFFF,
                    0x02,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0008FFFF,
                    0x03,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0009FFFF,
                    Zero,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0009FFFF,
                    One,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0009FFFF,
                    0x02,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0009FFFF,
                    0x03,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x000AFFFF,
                    Zero,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x000AFFFF,
                    One,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x000AFFFF,
                    0x02,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x000AFFFF,
                    0x03,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x000BFFFF,
                    Zero,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x000BFFFF,
                    One,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x000BFFFF,
                    0x02,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x000BFFFF,
                    0x03,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x000CFFFF,
                    Zero,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x000CFFFF,
                    One,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x000CFFFF,
                    0x02,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x000CFFFF,
                    0x03,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x000DFFFF,
                    Zero,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x000DFFFF,
                    One,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x000DFFFF,
                    0x02,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x000DFFFF,
                    0x03,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x000EFFFF,
                    Zero,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x000EFFFF,
                    One,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x000EFFFF,
                    0x02,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x000EFFFF,
                    0x03,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x000FFFFF,
                    Zero,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x000FFFFF,
                    One,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x000FFFFF,
                    0x02,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x000FFFFF,
                    0x03,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0010FFFF,
                    Zero,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0010FFFF,
                    One,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0010FFFF,
                    0x02,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0010FFFF,
                    0x03,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0011FFFF,
                    Zero,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0011FFFF,
                    One,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0011FFFF,
                    0x02,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0011FFFF,
                    0x03,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0012FFFF,
                    Zero,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0012FFFF,
                    One,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0012FFFF,
                    0x02,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0012FFFF,
                    0x03,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0013FFFF,
                    Zero,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0013FFFF,
                    One,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0013FFFF,
                    0x02,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0013FFFF,
                    0x03,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0014FFFF,
                    Zero,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0014FFFF,
                    One,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0014FFFF,
                    0x02,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0014FFFF,
                    0x03,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0015FFFF,
                    Zero,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0015FFFF,
                    One,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0015FFFF,
                    0x02,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0015FFFF,
                    0x03,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0016FFFF,
                    Zero,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0016FFFF,
                    One,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0016FFFF,
                    0x02,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0016FFFF,
                    0x03,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0017FFFF,
                    Zero,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0017FFFF,
                    One,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0017FFFF,
                    0x02,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0017FFFF,
                    0x03,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0018FFFF,
                    Zero,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x0018FFFF,
                    One,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0018FFFF,
                    0x02,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0018FFFF,
                    0x03,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0019FFFF,
                    Zero,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x0019FFFF,
                    One,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x0019FFFF,
                    0x02,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x0019FFFF,
                    0x03,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x001AFFFF,
                    Zero,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x001AFFFF,
                    One,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x001AFFFF,
                    0x02,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x001AFFFF,
                    0x03,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x001BFFFF,
                    Zero,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x001BFFFF,
                    One,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x001BFFFF,
                    0x02,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x001BFFFF,
                    0x03,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x001CFFFF,
                    Zero,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x001CFFFF,
                    One,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x001CFFFF,
                    0x02,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x001CFFFF,
                    0x03,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x001DFFFF,
                    Zero,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x001DFFFF,
                    One,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x001DFFFF,
                    0x02,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x001DFFFF,
                    0x03,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x001EFFFF,
                    Zero,
                    Zero,
                    0x12
                },
                Package (0x04)
                {
                    0x001EFFFF,
                    One,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x001EFFFF,
                    0x02,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x001EFFFF,
                    0x03,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x001FFFFF,
                    Zero,
                    Zero,
                    0x13
                },
                Package (0x04)
                {
                    0x001FFFFF,
                    One,
                    Zero,
                    0x10
                },
                Package (0x04)
                {
                    0x001FFFFF,
                    0x02,
                    Zero,
                    0x11
                },
                Package (0x04)
                {
                    0x001FFFFF,
                    0x03,
                    Zero,
                    0x12
                }
            })
        }
        Device (MRES)
        {
            Name (_HID, EisaId ("PNP0C02") )
            Name (_UID, Zero)
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite,
                    0xE0000000,
                    0x00100000,
                    )
                IO (Decode16,
                    0x0600,
                    0x0600,
                    0x01,
                    0x04,
                    )
                IO (Decode16,
                    0x0604,
                    0x0604,
                    0x01,
                    0x02,
                    )
                IO (Decode16,
                    0x0608,
                    0x0608,
                    0x01,
                    0x04,
                    )
            })
        }
        Device (COM1)
        {
            Name (_HID, EisaId ("PNP0501") )
            Name (_UID, One)
            Name (_CRS, ResourceTemplate ()
            {
                IO (Decode16,
                    0x03F8,
                    0x03F8,
                    0x01,
                    0x08,
                    )
                IRQNoFlags ()
                    {4}
            })
        }
        Device (RTC)
        {
            Name (_HID, EisaId ("PNP0B00") )
            Name (_CRS, ResourceTemplate ()
            {
                IO (Decode16,
                    0x0070,
                    0x0070,
                    0x01,
                    0x02,
                    )
                IRQNoFlags ()
                    {8}
            })
        }
    }
    Name (_S5, Package (0x04)
    {
        0x05,
        0x05,
        Zero,
        Zero
    })
}
