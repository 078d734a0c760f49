namespace OtpVerification;

/// <summary>
/// A thread's instances of <typeparamref name="T"/> (an HMAC, an AES-GCM cipher: not thread-safe,
/// and each costs a native context to make) for its last <see cref="Size"/> keys, found by the key
/// array's reference and replaced in turn. Keys are arrays their owners never change.
/// </summary>
/// <typeparam name="T">The keyed instance.</typeparam>
/// <remarks>Compiled into each package that uses it (a linked source file), so no package depends on another's internals.</remarks>
internal static class PerThreadByKey<T>
    where T : class, IDisposable
{
    /// <summary>How many keys a thread keeps an instance for.</summary>
    public const int Size = 4;

    [ThreadStatic]
    private static Slots? t_slots;

    /// <summary>This thread's instance for <paramref name="key"/>, made by <paramref name="make"/> when it has none.</summary>
    public static T Get(byte[] key, Func<byte[], T> make)
    {
        var slots = t_slots ??= new Slots();
        for (var i = 0; i < Size; i++)
        {
            if (ReferenceEquals(slots.Keys[i], key))
            {
                return slots.Instances[i]!;
            }
        }

        // The slot is emptied before its instance is disposed: if the new one cannot be made, no
        // key is left pointing at a disposed instance (which would fail that key on this thread for good).
        var slot = slots.Next;
        slots.Next = (slot + 1) % Size;
        var old = slots.Instances[slot];
        slots.Keys[slot] = null;
        slots.Instances[slot] = null;
        old?.Dispose();
        var made = make(key);
        slots.Instances[slot] = made;
        slots.Keys[slot] = key;
        return made;
    }

    private sealed class Slots
    {
        public byte[]?[] Keys { get; } = new byte[]?[Size];

        public T?[] Instances { get; } = new T?[Size];

        public int Next { get; set; }
    }
}
