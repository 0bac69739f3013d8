// Class information of the abstract container bases.
#include <DriverKit/OSCollection.h>
#include <DriverKit/OSContainer.h>

OSDefineAbstractMetaClass(OSContainer, OSObject);
OSDefineAbstractMetaClass(OSCollection, OSContainer);
