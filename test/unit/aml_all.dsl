DefinitionBlock ("", "DSDT", 2, "KASANE", "AMLTEST ", 0x00000001)
{
    Scope (\_SB)
    {
        Device (DEV0)
        {
            Name (_HID, EisaId ("PNP0C02") )
            Name (_STR, "kasane")
            Name (BUF0, Buffer (0x03)
            {
                 0x01, 0x02, 0x03
            })
            Name (_CRS, ResourceTemplate ()
            {
                IO (Decode16,
                    0x0600,
                    0x0600,
                    0x01,
                    0x10,
                    )
                IRQNoFlags ()
                    {3,11}
                Interrupt (ResourceConsumer, Level, ActiveLow, Shared, ,, )
                {
                    0x00000011,
                }
                Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )
                {
                    0x00000028,
                }
                Memory32Fixed (ReadWrite,
                    0xE0000000,
                    0x00100000,
                    )
                WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
                    0x0000,
                    0x0000,
                    0x00FF,
                    0x0000,
                    0x0100,
                    ,, )
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
            Method (_STA, 0, NotSerialized)
            {
                Return (0x0F)
            }
            Method (MTH1, 2, Serialized)
            {
                Return (0x0000123456789ABC)
            }
        }
    }
    Name (\_SB.DEV0.PKG0, Package (0x03)
    {
        Zero,
        0x1234,
        "x"
    })
}
